"""Lower-case run-together hashtags are split into words by a unigram model (issue 16)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chalicelib.domain.keywords import KeywordQuery, compile_queries
from chalicelib.domain.segment import segment
from chalicelib.domain.text import hashtag_forms


@pytest.mark.parametrize(
    ("run", "words"),
    [
        # romanized Hindi, as Indian political tags are mostly written
        ("mainbhichowkidar", ("main", "bhi", "chowkidar")),
        ("modihaitohmumkinhai", ("modi", "hai", "toh", "mumkin", "hai")),
        ("chowkidarchorhai", ("chowkidar", "chor", "hai")),
        ("abkibaarmodisarkar", ("ab", "ki", "baar", "modi", "sarkar")),
        ("tirangayatra", ("tiranga", "yatra")),
        ("rahulgandhi", ("rahul", "gandhi")),
        ("gujaratfiles", ("gujarat", "files")),
        # English, and the two mixed (tags seen in ../shared/data/posts)
        ("yogaday", ("yoga", "day")),
        ("internationalyogaday", ("international", "yoga", "day")),
        ("indiafightscorruption", ("india", "fights", "corruption")),
        ("juniorhockeyworldcup", ("junior", "hockey", "world", "cup")),
        ("happydiwali", ("happy", "diwali")),
        ("modicoalscam", ("modi", "coal", "scam")),
        # one word, too short, unknown pieces or not lower case: left whole
        ("demonetisation", None),
        ("kejriwal", None),
        ("selfie", None),
        ("bjp", None),
        ("udtapunjabcensored", None),
        ("novotetobjp", None),
        ("MainBhi", None),
        ("मैंभी", None),
        ("mcd2017", None),
        ("", None),
    ],
)
def test_lower_case_runs_split_into_known_words(run: str, words: tuple[str, ...] | None) -> None:
    assert segment(run) == words


@pytest.mark.parametrize(
    ("tag", "pieces"),
    [
        ("#mainbhichowkidar", ["main", "bhi", "chowkidar"]),
        ("#Mainbhichowkidar", ["Main", "bhi", "chowkidar"]),
        ("#MainBhiChowkidar", ["Main", "Bhi", "Chowkidar"]),
        ("#mainbhichowkidar2019", ["main", "bhi", "chowkidar", "2019"]),
        ("#ChowkidarChorhai", ["Chowkidar", "Chor", "hai"]),
        ("#demonetisation", ["demonetisation"]),
    ],
)
def test_pieces_keep_their_place_in_the_tag(tag: str, pieces: list[str]) -> None:
    h = hashtag_forms(tag)
    assert [tag[s:e] for s, e, *_ in h.pieces] == pieces
    assert h.whole[0] == tag.lower()


POST = "Proud to say #mainbhichowkidar, and #modihaitohmumkinhai"


@pytest.mark.parametrize(
    ("query", "highlighted"),
    [
        ("chowkidar", ["chowkidar"]),
        ("चौकीदार", ["chowkidar"]),
        ('"main bhi chowkidar"', ["mainbhichowkidar"]),
        ("mumkin", ["mumkin"]),
        ('"modi hai toh mumkin"', ["modihaitohmumkin"]),
        ("#mainbhichowkidar", ["#mainbhichowkidar"]),
        ("#modihaitohmumkinhai", ["#modihaitohmumkinhai"]),
        ("#mainbhi*", ["#mainbhichowkidar"]),
        ("#chowkidar", []),
        ("#chowkidar*", []),
    ],
)
def test_words_match_inside_the_tag_and_the_tag_matches_whole(
    query: str, highlighted: list[str]
) -> None:
    matches = compile_queries([KeywordQuery("q", query)], strict=True).match(POST)
    assert [POST[s:e] for m in matches for s, e in m.spans] == highlighted


def test_the_word_list_loads_only_when_a_run_needs_it() -> None:
    code = (
        "import sys; import chalicelib.domain.keywords, chalicelib.domain.text as t;"
        "t.scan('#NoVoteToBJP modi'); a = 'chalicelib.domain.segment_data' in sys.modules;"
        "t.scan('#mainbhichowkidar'); b = 'chalicelib.domain.segment_data' in sys.modules;"
        "print(a, b)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
