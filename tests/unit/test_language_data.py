"""Checks against the real data in ../shared/data/langid (skipped when it is absent).

The full figures come from ``make bench-langid``; these are quick regression floors on slices,
well under the issue 3 targets, so they fail on a real regression and not on noise.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.language import detect

REPO = Path(__file__).resolve().parents[2]
LANGID = Path("../shared/data/langid")
pytestmark = pytest.mark.shared


def _data() -> Path:
    path = REPO / LANGID
    if not path.is_dir():
        pytest.skip("../shared/data/langid is absent")
    return path


def _lines(path: Path, limit: int) -> list[str]:
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[1::2][:limit]  # odd lines, which include the held-out half of FLORES-en


# dataset file, expected lang, floor on the first (odd) 150 items
FLOORS = [
    ("flores-dev/hi.txt", "hi", 0.98),
    ("flores-dev/mr.txt", "mr", 0.98),
    ("flores-dev/ne.txt", "ne", 0.97),
    ("flores-dev/en.txt", "en", 0.98),
    ("flores-dev/or.txt", "or", 0.98),
    ("flores-dev/as.txt", "as", 0.98),
    ("lingua/sentences/en.txt", "en", 0.97),
    ("lingua/single-words/en.txt", "en", 0.9),
    ("lingua/single-words/hi.txt", "hi", 0.6),
    ("lingua/single-words/mr.txt", "mr", 0.5),
]


@pytest.mark.parametrize(("name", "lang", "floor"), FLOORS)
def test_accuracy_floor(name: str, lang: str, floor: float) -> None:
    texts = _lines(_data() / name, 150)
    hits = sum(detect(t).lang == lang for t in texts)
    assert hits / len(texts) >= floor


def test_hinglish_tweets_never_trained_on_are_hindi_or_mixed() -> None:
    # L3Cube is evaluation data only (CC BY-NC-SA): the model never saw any of these tweets.
    tweets: list[list[tuple[str, str]]] = [[]]
    path = _data() / "l3cube_hinglid_validation.conll"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            token, _, tag = line.partition("\t")
            tweets[-1].append((token, tag.strip()))
        elif tweets[-1]:
            tweets.append([])
    held_out = [t for t in tweets[1::2] if t][:400]
    ok = 0
    for tweet in held_out:
        result = detect(" ".join(tok for tok, _ in tweet))
        share = sum(tag == "HI" for _, tag in tweet) / len(tweet)
        if share >= 0.7:
            ok += result.lang == "hi-Latn"
        elif share >= 0.3:
            ok += result.lang == "hi-Latn" or result.mixed
        else:
            ok += result.lang == "en" or result.mixed
    assert ok / len(held_out) >= 0.95


def test_committed_model_rebuilds_byte_for_byte_without_l3cube(tmp_path: Path) -> None:
    # The rebuild reads a copy of the data without the non-commercial L3Cube file, so the
    # committed model provably owes nothing to it.
    data = _data()
    if importlib.util.find_spec("wordfreq") is None:
        pytest.skip("wordfreq (requirements-dev.txt) is not installed")
    permissive = tmp_path / "langid"
    permissive.mkdir()
    for entry in data.iterdir():
        if "l3cube" not in entry.name:
            (permissive / entry.name).symlink_to(entry.resolve())
    out = tmp_path / "model.json.gz"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "local" / "train_langid.py"),
            "--data",
            str(permissive),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    committed = REPO / "chalicelib" / "domain" / "language" / "hinglish.json.gz"
    assert out.read_bytes() == committed.read_bytes()
