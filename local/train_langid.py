"""Rebuild the romanized-Hindi model ``chalicelib/domain/language/hinglish.json.gz``.

Deterministic: the same inputs give a byte-identical file (sorted keys, rounded floats, fixed
gzip mtime). Trains on the *even* half of L3Cube-HingLID validation tweets and of FLORES-200
English dev sentences; the odd halves stay held out for ``bench/langid_eval.py``.

    .venv/bin/python local/train_langid.py [--data ../shared/data/langid] [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import random
from collections import defaultdict
from pathlib import Path

from chalicelib.domain.language.latin import (
    _CHAR_SCALE,
    NGRAM_ORDERS,
    _sigmoid,
    normalize_word,
    word_ngrams,
)

REPO = Path(__file__).resolve().parent.parent

DEFAULT_DATA = REPO.parent / "shared" / "data" / "langid"
DEFAULT_OUT = REPO / "chalicelib" / "domain" / "language" / "hinglish.json.gz"
ENGLISH_VOCABULARY = 20000  # most frequent English words from wordfreq, for the character model
MIN_WORD_COUNT = 2  # rarer tweet words (not in the English vocabulary) are left to n-grams
WORD_SMOOTHING = 0.5
GENERAL_ENGLISH_WEIGHT = 0.5
MIN_NGRAM_TYPES = 2  # an n-gram must occur in at least this many training words
MIN_WEIGHT = 0.02  # smaller weights are dropped from the committed file
EPOCHS = 8
LEARNING_RATE = 0.2
L2 = 1e-4
SEED = 20261122


def read_l3cube(path: Path) -> list[list[tuple[str, str]]]:
    """Tweets as lists of (token, HI|EN), in file order."""
    tweets: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                tweets.append(current)
                current = []
            continue
        token, _, tag = line.partition("\t")
        current.append((token, tag.strip()))
    if current:
        tweets.append(current)
    return tweets


def read_lines(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def training_tokens(data: Path) -> list[tuple[str, bool]]:
    """(normalized word, is_hindi) from the even halves of L3Cube and FLORES English."""
    out: list[tuple[str, bool]] = []
    for i, tweet in enumerate(read_l3cube(data / "l3cube_hinglid_validation.conll")):
        if i % 2:
            continue
        for token, tag in tweet:
            word = normalize_word(token)
            if word:
                out.append((word, tag == "HI"))
    for i, sentence in enumerate(read_lines(data / "flores-dev" / "en.txt")):
        if i % 2:
            continue
        for token in sentence.split():
            word = normalize_word(token)
            if word:
                out.append((word, False))
    return out


def english_vocabulary(size: int) -> dict[str, float]:
    """The most frequent English words (wordfreq) and their frequencies, normalized."""
    from wordfreq import top_n_list, word_frequency

    out: dict[str, float] = {}
    for raw in top_n_list("en", size):
        word = normalize_word(raw)
        if word:
            out[word] = out.get(word, 0.0) + word_frequency(raw, "en")
    return dict(sorted(out.items()))


def fit_logistic(
    examples: list[tuple[str, float]], epochs: int = EPOCHS
) -> tuple[dict[str, float], float]:
    """Logistic regression on character n-grams by plain SGD with soft labels, seeded order."""
    features = [(word_ngrams(w), y) for w, y in examples]
    seen: dict[str, int] = defaultdict(int)
    for grams, _ in features:
        for g in set(grams):
            seen[g] += 1
    weights: dict[str, float] = dict.fromkeys(
        (g for g, n in seen.items() if n >= MIN_NGRAM_TYPES), 0.0
    )
    bias = 0.0
    order = list(range(len(features)))
    rng = random.Random(SEED)
    for epoch in range(epochs):
        rng.shuffle(order)
        rate = LEARNING_RATE / (1 + epoch)
        for i in order:
            grams, y = features[i]
            known = [g for g in grams if g in weights]
            z = bias + _CHAR_SCALE * sum(weights[g] for g in known)
            err = y - _sigmoid(z)
            bias += rate * err
            step = rate * err * _CHAR_SCALE
            for g in known:
                weights[g] += step - rate * L2 * weights[g]
    kept = {g: round(w, 3) for g, w in sorted(weights.items()) if abs(w) >= MIN_WEIGHT}
    return kept, bias


def build(data: Path, english_size: int = ENGLISH_VOCABULARY) -> dict[str, object]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for word, is_hi in training_tokens(data):
        counts[word][0 if is_hi else 1] += 1
    english = english_vocabulary(english_size) if english_size else {}
    # Character n-grams are trained on word types (each weighted by its HI share), because they
    # only ever score words the word table has not seen. Rare English words and names are what
    # the tweets lack; the general English vocabulary fills that in.
    types: dict[str, float] = {w: hi / (hi + en) for w, (hi, en) in counts.items()}
    for word in english:
        types.setdefault(word, 0.0)
    weights, bias = fit_logistic(sorted(types.items()))
    return {
        "format": 2,
        "provenance": "see PROVENANCE.md next to this file",
        "ngram_orders": list(NGRAM_ORDERS),
        "bias": round(bias, 4),
        "words": word_log_odds(counts, english),
        "ngrams": weights,
    }


def word_log_odds(counts: dict[str, list[int]], english: dict[str, float]) -> dict[str, float]:
    """log P(word | Hindi) - log P(word | English), for words seen often enough.

    The tweets are 70% Hindi, so their counts alone make English function words ("he", "us",
    "see") look Hindi; P(word | English) therefore mixes the tweets' English with general
    English frequencies, and the ratio carries no class prior.
    """
    total_hi = sum(hi for hi, _ in counts.values())
    total_en = sum(en for _, en in counts.values())
    out: dict[str, float] = {}
    for word in sorted(set(counts) | set(english)):
        hi, en = counts.get(word, [0, 0])
        if hi + en < MIN_WORD_COUNT and word not in english:
            continue
        p_hi = (hi + WORD_SMOOTHING) / total_hi
        p_en = (
            GENERAL_ENGLISH_WEIGHT * english.get(word, 0.0)
            + (1 - GENERAL_ENGLISH_WEIGHT) * (en + WORD_SMOOTHING) / total_en
        )
        out[word] = round(math.log(p_hi / p_en), 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--english-size", type=int, default=ENGLISH_VOCABULARY)
    args = parser.parse_args()
    model = build(args.data, args.english_size)
    raw = json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw.encode("utf-8"))
    args.out.write_bytes(buf.getvalue())
    n_words = len(model["words"])  # type: ignore[arg-type]
    n_grams = len(model["ngrams"])  # type: ignore[arg-type]
    print(f"wrote {args.out} ({len(buf.getvalue())} bytes, {n_words} words, {n_grams} n-grams)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
