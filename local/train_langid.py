"""Rebuild the romanized-Hindi model ``chalicelib/domain/language/hinglish.json.gz``.

Deterministic: the same inputs give a byte-identical file (sorted keys, rounded floats, fixed
gzip mtime). Trains only on data whose licence allows any use (see PROVENANCE.md next to the
model): Hindi is Devanagari text (FLORES-200 dev Hindi, lingua's Hindi test data, wordfreq's
Hindi list) turned into chat spellings by our own romanizer; English is the even half of
FLORES-200 English dev sentences and wordfreq's English list. L3Cube-HingLID (CC BY-NC-SA) is
never read here: ``bench/langid_eval.py`` uses it as an evaluation set only.

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
from collections.abc import Iterable
from pathlib import Path

import regex

from chalicelib.domain.language.latin import (
    _CHAR_SCALE,
    NGRAM_ORDERS,
    _sigmoid,
    normalize_word,
    word_ngrams,
)
from local.chat_romanizer import chat_spellings, has_devanagari

REPO = Path(__file__).resolve().parent.parent

DEFAULT_DATA = REPO.parent / "shared" / "data" / "langid"
DEFAULT_OUT = REPO / "chalicelib" / "domain" / "language" / "hinglish.json.gz"
ENGLISH_VOCABULARY = 20000  # most frequent English words from wordfreq
HINDI_VOCABULARY = 20000  # most frequent Hindi (Devanagari) words from wordfreq, same size
MIN_WORD_COUNT = 2  # rarer corpus words (in neither general list) are left to n-grams
WORD_SMOOTHING = 0.5
GENERAL_WEIGHT = 0.5  # share of the general (wordfreq) frequencies in P(word | language)
MIN_NGRAM_TYPES = 2  # an n-gram must occur in at least this many training words
MIN_WEIGHT = 0.02  # smaller weights are dropped from the committed file
EPOCHS = 8
LEARNING_RATE = 0.2
L2 = 1e-4
SEED = 20261122

# Hindi sources: Devanagari text, romanized here. English sources: Latin text.
HINDI_FILES = (
    "flores-dev/hi.txt",
    "lingua/sentences/hi.txt",
    "lingua/word-pairs/hi.txt",
    "lingua/single-words/hi.txt",
)
ENGLISH_FILE = "flores-dev/en.txt"  # even-numbered sentences only; odd ones stay held out


def read_lines(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _deva_tokens(text: str) -> Iterable[str]:
    # Tokens of Devanagari letters and marks; Latin names inside Hindi text are not Hindi.
    for token in regex.findall(r"[\p{L}\p{M}\u200c\u200d]+", text):
        if has_devanagari(token):
            yield regex.sub(r"[\u200c\u200d]", "", token)


def hindi_corpus(data: Path) -> dict[str, float]:
    """Weighted counts of chat spellings of every Devanagari word of the Hindi files."""
    counts: dict[str, float] = defaultdict(float)
    for name in HINDI_FILES:
        for line in read_lines(data / name):
            for token in _deva_tokens(line):
                for word, share in chat_spellings(token).items():
                    counts[word] += share
    return counts


def english_corpus(data: Path) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    for i, sentence in enumerate(read_lines(data / ENGLISH_FILE)):
        if i % 2:
            continue
        for token in sentence.split():
            word = normalize_word(token)
            if word:
                counts[word] += 1.0
    return counts


def english_vocabulary(size: int) -> dict[str, float]:
    """The most frequent English words (wordfreq) and their frequencies, normalized."""
    from wordfreq import top_n_list, word_frequency

    out: dict[str, float] = defaultdict(float)
    for raw in top_n_list("en", size):
        word = normalize_word(raw)
        if word:
            out[word] += word_frequency(raw, "en")
    return dict(sorted(out.items()))


def hindi_vocabulary(size: int) -> dict[str, float]:
    """Chat spellings of wordfreq's most frequent Devanagari Hindi words, with frequencies.

    Latin-script entries of the Hindi list are skipped: they mix English and romanized Hindi
    with no label telling them apart.
    """
    from wordfreq import top_n_list, word_frequency

    out: dict[str, float] = defaultdict(float)
    for raw in top_n_list("hi", size):
        if not has_devanagari(raw):
            continue
        freq = word_frequency(raw, "hi")
        for word, share in chat_spellings(raw).items():
            out[word] += freq * share
    return dict(sorted(out.items()))


def fit_logistic(
    examples: list[tuple[str, float]], epochs: int = EPOCHS
) -> tuple[dict[str, float], float]:
    """Logistic regression on character n-grams by plain SGD with soft labels, seeded order.

    Each class carries half the total weight: romanized Hindi yields several spellings per
    word, and an unseen word should start from even odds, not from the ratio of word types.
    """
    features = [(word_ngrams(w), y) for w, y in examples]
    hi_mass = sum(y for _, y in features) or 1.0
    en_mass = sum(1 - y for _, y in features) or 1.0
    half = len(features) / 2
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
            balance = half * (y / hi_mass + (1 - y) / en_mass)
            known = [g for g in grams if g in weights]
            z = bias + _CHAR_SCALE * sum(weights[g] for g in known)
            err = (y - _sigmoid(z)) * balance
            bias += rate * err
            step = rate * err * _CHAR_SCALE
            for g in known:
                weights[g] += step - rate * L2 * weights[g]
    kept = {g: round(w, 3) for g, w in sorted(weights.items()) if abs(w) >= MIN_WEIGHT}
    return kept, bias


def build(
    data: Path, english_size: int = ENGLISH_VOCABULARY, hindi_size: int = HINDI_VOCABULARY
) -> dict[str, object]:
    hindi = hindi_vocabulary(hindi_size) if hindi_size else {}
    english = english_vocabulary(english_size) if english_size else {}
    words = word_log_odds(hindi_corpus(data), english_corpus(data), hindi, english)
    # Character n-grams are trained on the word types of the table, each labelled with its
    # P(Hindi) at even odds, because they only ever score words the table has not seen.
    types = sorted((w, _sigmoid(x)) for w, x in words.items())
    weights, bias = fit_logistic(types)
    return {
        "format": 2,
        "provenance": "see PROVENANCE.md next to this file",
        "ngram_orders": list(NGRAM_ORDERS),
        "bias": round(bias, 4),
        "words": words,
        "ngrams": weights,
    }


def word_log_odds(
    hi_counts: dict[str, float],
    en_counts: dict[str, float],
    hindi: dict[str, float],
    english: dict[str, float],
) -> dict[str, float]:
    """log P(word | Hindi) - log P(word | English) for the words of either general list and
    the corpus words seen often enough.

    Each side mixes its general frequencies (wordfreq) with its corpus counts, the same way on
    both sides, so the ratio carries no class prior.
    """
    total_hi = sum(hi_counts.values())
    total_en = sum(en_counts.values())
    # One floor for both sides: the corpora differ in size, and a per-side add-k would make
    # every word missing from the smaller one look like the other language.
    floor = (1 - GENERAL_WEIGHT) * WORD_SMOOTHING / (total_hi + total_en)
    out: dict[str, float] = {}
    for word in sorted(set(hi_counts) | set(en_counts) | set(hindi) | set(english)):
        hi, en = hi_counts.get(word, 0.0), en_counts.get(word, 0.0)
        if hi + en < MIN_WORD_COUNT and word not in english and word not in hindi:
            continue
        p_hi = GENERAL_WEIGHT * hindi.get(word, 0.0) + (1 - GENERAL_WEIGHT) * hi / total_hi
        p_en = GENERAL_WEIGHT * english.get(word, 0.0) + (1 - GENERAL_WEIGHT) * en / total_en
        p_hi, p_en = p_hi + floor, p_en + floor
        out[word] = round(math.log(p_hi / p_en), 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--english-size", type=int, default=ENGLISH_VOCABULARY)
    parser.add_argument("--hindi-size", type=int, default=HINDI_VOCABULARY)
    args = parser.parse_args()
    model = build(args.data, args.english_size, args.hindi_size)
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
