"""Normalization shared by posts and queries: tables of rules, and properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain import text as T
from chalicelib.domain.text import fold, normalize, scan, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # NFC: a decomposed accent composes (and then case-folds)
        ("Cafe\u0301", "café"),
        # Latin case folding, including the length-changing ß
        ("MODI", "modi"),
        ("Straße", "strasse"),
        # nukta: combining and precomposed forms both drop it
        ("ज\u093cमीन", "जमीन"),
        ("\u095bमीन", "जमीन"),
        ("\u0958त्ल", "कत्ल"),
        # chandrabindu -> anusvara
        ("हूँ", "हूं"),
        ("हाँ", "हां"),
        # homorganic nasal + virama -> anusvara; a doubled nasal stays
        ("हिन्दी", "हिंदी"),
        ("सम्बन्ध", "संबंध"),
        ("कम्पनी", "कंपनी"),
        ("अन्न", "अन्न"),
        # candra vowels of English loans -> plain vowels
        ("कॉलेज", "कोलेज"),
        ("ऑफिस", "ओफिस"),
        # invisible characters: ZWJ, ZWNJ, soft hyphen, word joiner, BOM
        ("पुत्\u200dतन", "पुत्तन"),
        ("क्\u200cष", "क्ष"),
        ("poli\u00adtics", "politics"),
        ("a\u2060b", "ab"),
        # Devanagari digits -> ASCII
        ("२०१९", "2019"),
    ],
)
def test_fold_rules(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Modi ji, NAHI!", "modi ji nahi"),
        # script change is a word boundary, digits are words of their own
        ("IITखड़गपुरमें", "iit खडगपुरमें"),
        ("१७मेंMCDमें", "17 में mcd में"),
        ("covid19", "covid 19"),
        # danda and punctuation separate words; matras and virama do not
        ("राहुल।गांधी", "राहुल गांधी"),
        ("प्रधानमन्त्री", "प्रधानमंत्री"),
        # a zero-width space separates words, a zero-width joiner does not
        ("नमस्ते\u200bदिल्ली", "नमस्ते दिल्ली"),
        ("नमस्ते\u200dदिल्ली", "नमस्तेदिल्ली"),
        # handles (even glued to Devanagari), hashtags whole, e-mail is not a handle
        ("से@ArvindKejriwalको", "से @arvindkejriwal को"),
        ("#NoVoteToBJP now", "#novotetobjp now"),
        ("mail a@b.com", "mail a b com"),
        ("a#b", "a b"),
        # URLs and HTML entities are dropped
        ("see https://t.co/XyZ1 &amp; www.x.com ok", "see ok"),
        ("", ""),
        ("!!! 😂👇 ...", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("#NoVoteToBJP", ("no", "vote", "to", "bjp")),
        ("#BJPKeNeta", ("bjp", "ke", "neta")),
        ("#MainBhiChowkidar", ("main", "bhi", "chowkidar")),
        ("#pappu", ("pappu",)),
        ("#Sandesh2Soldiers", ("sandesh", "2", "soldiers")),
        ("#आम_आदमी_पॉली_क्लिनिक", ("आम", "आदमी", "पोली", "क्लिनिक")),
        ("#चौकीदार", ("चौकीदार",)),
        ("#मोदीHaiToMumkinHai", ("मोदी", "hai", "to", "mumkin", "hai")),
        ("#iPhone", ("i", "phone")),
        ("#MODI", ("modi",)),
    ],
)
def test_hashtags_split_into_words_and_keep_their_whole_form(
    tag: str, words: tuple[str, ...]
) -> None:
    [token] = tokenize(tag)
    assert (token.kind, token.text, token.words) == ("hashtag", fold(tag), words)


def test_token_offsets_point_into_the_original_text() -> None:
    text = "RT @abc: हिन्दी में #NoVote\u200bकी ज\u093cमीन https://t.co/x 2019"
    got = [(t.kind, text[t.start : t.end]) for t in tokenize(text)]
    assert got == [
        ("word", "RT"),
        ("handle", "@abc"),
        ("word", "हिन्दी"),
        ("word", "में"),
        ("hashtag", "#NoVote"),
        ("word", "की"),
        ("word", "ज\u093cमीन"),
        ("number", "2019"),
    ]


def test_scan_puts_whole_hashtags_after_a_separator_at_their_first_word() -> None:
    sc = scan("vote #NoVoteToBJP now")
    assert list(sc.folds) == ["vote", "no", "vote", "to", "bjp", "now", "\x00", "#novotetobjp"]
    assert [sc.position(i) for i in range(len(sc.folds)) if i != sc.n_main] == [
        0, 1, 2, 3, 4, 5, 1,
    ]  # fmt: skip


# --- properties ---------------------------------------------------------------------------

INDIC_TEXT = st.text(
    alphabet=st.sampled_from(
        [
            *"कखगजडढनमरलसहािीुूेैोौंँः़्ॉॅ।०१२ aAbBzZ#@_.-&:/ ",
            *("\u200d", "\u200c", "\u200b", "\u00ad", "\u0958", "\u095b", "\u0301"),
            *("ß", "İ", "😂"),
        ]
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60), INDIC_TEXT))
@example("İ")
@example("ΐ")
@example("क\u093c\u0901")
@example("\u093c\u0300")
@example("\u093c\u0300क")
@example("ं")
@example("ŉ ZͅB")
def test_normalization_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(word=st.one_of(st.text(max_size=12), INDIC_TEXT))
def test_fold_is_idempotent_and_nfc(word: str) -> None:
    once = fold(word)
    assert fold(once) == once
    assert unicodedata.is_normalized("NFC", once)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60), INDIC_TEXT))
def test_the_fast_tokenizer_path_agrees_with_the_general_one(text: str) -> None:
    general = [m.span() for m in T._TOKEN.finditer(text)]
    if not T._NOT_SIMPLE.search(text):
        assert [m.span() for m in T._SIMPLE_TOKEN.finditer(text)] == general


def test_the_fast_tokenizer_classes_agree_code_point_by_code_point() -> None:
    blocks = [(0x0, 0x24F), (0x300, 0x36F), (0x900, 0x97F), (0x2000, 0x206F), (0x1F600, 0x1F64F)]
    for lo, hi in blocks:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            for probe in (c, f"a{c}b", f"क{c}ख", f"#{c}x", f"x#{c}", f"@{c}", f"{c}@x"):
                fast = [m.span() for m in T._SIMPLE_TOKEN.finditer(probe)]
                assert fast == [m.span() for m in T._TOKEN.finditer(probe)], hex(cp)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_the_ascii_tokenizer_agrees_with_the_general_one(text: str) -> None:
    assert T._ASCII_TOKEN.split(text) == T._TOKEN.split(text) == T._SIMPLE_TOKEN.split(text)


def test_the_ascii_tokenizer_agrees_code_point_by_code_point() -> None:
    for cp in range(0x80):
        c = chr(cp)
        for probe in (c, f"a{c}b", f"1{c}2", f"#{c}x", f"x#{c}", f"@{c}", f"{c}@x", f"{c}#a"):
            fast = [m.span() for m in T._ASCII_TOKEN.finditer(probe)]
            assert fast == [m.span() for m in T._TOKEN.finditer(probe)], hex(cp)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60), INDIC_TEXT))
def test_scan_offsets_cover_each_token_and_fold_back_to_it(text: str) -> None:
    sc = scan(text)
    assert len(sc.folds) == len(sc.romans) == len(sc.exacts) == len(sc.starts) == len(sc.ends)
    for i in range(sc.n_main):
        s, e = sc.starts[i], sc.ends[i]
        assert 0 <= s < e <= len(text)
        assert " " not in sc.folds[i] and sc.folds[i] and sc.romans[i] and sc.exacts[i]
        piece = text[s:e]
        assert fold(piece) == sc.folds[i] or fold(piece.lstrip("#")) == sc.folds[i]


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60), INDIC_TEXT))
@example("xa#tag #tag a@b @b")
@example("से@ArvindKejriwalको @ArvindKejriwal")
def test_raw_token_offsets_come_from_the_split_parts(text: str) -> None:
    # scan() works offsets out from the lengths of gaps and tokens; they must be the spans
    # the tokenizer matched
    sc = scan(text)
    matched = list(T._TOKEN.finditer(sc._text))
    assert [m.group() for m in matched] == list(sc._raws)
    starts, ends = sc._raw_bounds()
    assert list(zip(starts, ends, strict=True)) == [m.span() for m in matched]
