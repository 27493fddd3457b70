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
MIN_WORD_COUNT = 2  # rarer words are left to the character model
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


def english_vocabulary(size: int) -> list[str]:
    """The most frequent English words (wordfreq), normalized like every other word."""
    from wordfreq import top_n_list

    words = (normalize_word(w) for w in top_n_list("en", size))
    return sorted({w for w in words if w})


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
    # Character n-grams are trained on word types (each weighted by its HI share), because they
    # only ever score words the word table has not seen.
    types: dict[str, float] = {w: hi / (hi + en) for w, (hi, en) in counts.items()}
    # Rare English words and names are what the tweets lack; a general English vocabulary fills
    # that in. Words the tweets mostly tag HI ("hai", "ki" reach wordfreq's list) keep their share.
    for word in english_vocabulary(english_size) if english_size else []:
        types.setdefault(word, 0.0)
    weights, bias = fit_logistic(sorted(types.items()))
    words = {w: v for w, v in counts.items() if v[0] + v[1] >= MIN_WORD_COUNT}
    return {
        "format": 1,
        "provenance": "see PROVENANCE.md next to this file",
        "ngram_orders": list(NGRAM_ORDERS),
        "bias": round(bias, 4),
        "words": dict(sorted(words.items())),
        "ngrams": weights,
    }


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
