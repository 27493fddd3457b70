"""What each term of a keyword query also matches: the spellings and scripts it reaches.

Read off the same pieces the matcher compiles (``keywords.engine.term_patterns`` and
``term_alternatives``), so what the console shows a head is what the matcher does.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.keywords import parser as p
from chalicelib.domain.keywords.engine import STREAM_FOLDED, STREAM_ROMAN, term_alternatives
from chalicelib.domain.keywords.model import KeywordQuery
from chalicelib.domain.transliterate import (
    DEVANAGARI_MARK,
    ENGLISH_MARK,
    OPAQUE_MARK,
    deva_to_roman,
    has_devanagari,
)

# Why a term matches only as written (the catalogue names each: query_variants_<how>).
EXACT = "exact"  # the query is exact: case and spelling as written
NO_VARIANTS = "no_variants"  # the query turned variants off
HANDLE = "handle"  # an @handle is one account
ENGLISH = "english"  # a frequent English word that shares a Hindi word's key
SHORT = "short"  # too short for romanized variants (a key of fewer than 3 letters)
SHARED = "shared"  # a Devanagari word whose key different words share
VARIANTS = "variants"


@dataclass(frozen=True)
class TermVariants:
    """One term: where it is, the spellings it matches in its own script, and the romanized
    key through which it reaches romanized (and, for a romanized term, Devanagari) words."""

    term: str
    column: int
    how: str
    spellings: tuple[str, ...]  # folded forms matched as such ("नोटबंदी", "कोंग्रेस")
    roman_key: str = ""  # "" when the term reaches no other spelling by key
    reaches_devanagari: bool = False  # a romanized term also finds Devanagari words
    example: str = ""  # a romanized reading of a Devanagari term ("notabandee")


def terms_of(node: p.Node) -> list[p.Term]:
    """The terms of a parsed query, left to right (NOT's terms too: a head writes them)."""
    if isinstance(node, p.Term):
        return [node]
    if isinstance(node, p.Not):
        return terms_of(node.child)
    if isinstance(node, p.And | p.Or):
        return [t for child in node.children for t in terms_of(child)]
    if isinstance(node, p.Near):
        return terms_of(node.left) + terms_of(node.right)
    return []


def _plain(words: tuple[str, ...]) -> str:
    return " ".join(words)


def term_variants(term: p.Term, query: KeywordQuery) -> TermVariants:
    """What ``term`` matches under ``query``'s options."""
    written = _plain(term.folds)
    if query.exact and term.kind != "handle":
        return TermVariants(term.display, term.column, EXACT, (_plain(term.exacts),))
    if term.kind == "handle":
        return TermVariants(term.display, term.column, HANDLE, (written,))
    if not query.variants:
        return TermVariants(term.display, term.column, NO_VARIANTS, (written,))
    alts = term_alternatives(term)
    spellings = tuple(dict.fromkeys(_plain(w) for s, w in alts if s == STREAM_FOLDED))
    romans = [w for s, w in alts if s == STREAM_ROMAN]
    marked = [w for w in romans if any(x.lstrip("#").startswith(DEVANAGARI_MARK) for x in w)]
    plain_keys = [w for w in romans if w not in marked]
    deva = any(has_devanagari(f) for f in term.folds)
    example = " ".join(deva_to_roman(f.lstrip("#")) for f in term.folds) if deva else ""
    if any(x.lstrip("#").startswith(ENGLISH_MARK) for w in romans for x in w):
        return TermVariants(term.display, term.column, ENGLISH, spellings or (written,))
    if not romans:
        how = SHARED if deva and _opaque(term) else SHORT
        return TermVariants(term.display, term.column, how, spellings or (written,))
    key = _plain(plain_keys[0]) if plain_keys else ""
    return TermVariants(
        term.display,
        term.column,
        VARIANTS,
        spellings or (written,),
        roman_key=key,
        reaches_devanagari=not deva and bool(marked),
        example=example,
    )


def _opaque(term: p.Term) -> bool:
    return any(k.lstrip("#").startswith(OPAQUE_MARK) for k in term.romans)


def query_variants(query: KeywordQuery) -> list[TermVariants]:
    """Every term of a query with what it also matches; QuerySyntaxError if it cannot parse."""
    from chalicelib.domain.keywords.engine import parse_query

    return [term_variants(t, query) for t in terms_of(parse_query(query))]
