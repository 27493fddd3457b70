"""Incidents: mentions that are the same gaffe share one incident, and one task per team.

A mention joins an existing incident when (in this order) it reposts or quotes a mention we
already hold, its text is a near duplicate, or it comes from the same leader for the same
keyword query within the window. Otherwise it opens a new incident keyed by the mention.

Near duplicates: a 64-slot MinHash signature (one-permutation hashing) of a post's words,
their character trigrams and word pairs, after script-aware normalization: every word becomes
its romanized key (``transliterate.roman_key``), so ``नोटबंदी`` and ``notebandi`` share most
of their features and a romanized copy of a Devanagari post can join its incident when the
keys of most words agree. Two posts are near duplicates when at least 42 of the 64 slots agree
(estimated Jaccard >= 0.65). Candidates are found through 8 bands of 2 slots: posts with
Jaccard 0.65 share a band with probability 1 - (1 - 0.65^2)^8 = 99.9%.

Why MinHash and not SimHash with more tables (``make bench-incidents`` measures both on 4,412
real original posts, ``../shared/data/posts``): a SimHash over the same features brings
unrelated posts within 8 bits of each other, and at the widest distance that keeps them apart
(7 bits) it finds 48% of one-word edits, against 97% here; wider distances would also need
more tables (d + 1 for d bits, by pigeonhole). Character trigrams carry a changed spelling
(``notabandi``) that a word feature would lose; word pairs keep the order.

Priority = severity x reach x engagement velocity, each on a log scale so one viral post does
not drown every other signal; it is recomputed whenever new engagement figures arrive.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import regex

from chalicelib.domain.text import fold
from chalicelib.domain.transliterate import roman_key

SLOTS = 64
BANDS = 8
BAND_SLOTS = 2  # the bands use the first BANDS * BAND_SLOTS slots; verification uses all
NEAR_DUPLICATE_SLOTS = 42  # of SLOTS: estimated Jaccard >= 0.65 (nearest unrelated pair: 39)
CHAR_GRAM = 3
MAX_WORDS = 1000  # a pasted essay hashes by its first thousand words, not in seconds
SLOT_MASK = 0xFFFF  # 16 bits a slot: unrelated slots agree 1 time in 65,536
BAND_READ_LIMIT = 10  # newest incidents read per band: a band of common words stays cheap
DEFAULT_WINDOW = timedelta(hours=6)

# A signature: SLOTS 16-bit values; () for a text with no words (never a near duplicate).
Signature = tuple[int, ...]

_RT_PREFIX = regex.compile(r"^\s*(?:RT\s*@[\w.]+\s*:?\s*)+", regex.IGNORECASE)
_VIA = regex.compile(r"\s+(?:via|h/t)\s+@[\w.]+\s*$", regex.IGNORECASE)
_URL = regex.compile(r"(?:https?://|www\.)\S+", regex.IGNORECASE)
_HANDLE = regex.compile(r"(?<![\w@])@[\w.]+")
_INVISIBLE = regex.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
_TRUNCATED_TAIL = regex.compile(r"[\p{L}\p{M}\p{N}]*(?:…|\.\.\.)\s*$")
_M64 = (1 << 64) - 1


def hash_tokens(text: str) -> list[str]:
    """Words of a post as the signature sees them: no RT prefix, URLs, handles, case or '#'."""
    t = (text or "").replace("&amp;", "&")
    # Each pattern runs only when the text holds what it needs (most posts lack some): the
    # result is the same, for a third of the time.
    if not t.isascii():
        t = _INVISIBLE.sub("", unicodedata.normalize("NFC", t))
    at = "@" in t
    if at:
        t = _RT_PREFIX.sub("", t)
    if "://" in t or "www." in t.lower():
        t = _URL.sub(" ", t)
    if at:
        t = _VIA.sub("", t)
    # A repost cut at the platform's limit ends in "…": its last word is a fragment.
    if t.rstrip().endswith(("…", "...")):
        t = _TRUNCATED_TAIL.sub("", t)
    if at:
        t = _HANDLE.sub(" ", t)
    return [w.casefold() for w in _WORD.findall(t)]


def hash_words(text: str) -> list[str]:
    """The romanized keys of a post's words: the same in Devanagari and in Latin letters."""
    keys = [_key(w) for w in hash_tokens(text)[:MAX_WORDS]]
    return [k for k in keys if k]  # a stray mark folds to nothing: no word


@lru_cache(maxsize=1 << 16)
def _key(word: str) -> str:
    folded = fold(word)
    return roman_key(folded) or folded


def _feature_hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=1 << 16)
def _word_features(key: str) -> tuple[int, tuple[int, ...]]:
    """(hash of the word, hashes of the word and of its character trigrams): cached, as words
    repeat across posts far more than posts do."""
    word = _feature_hash(key)
    padded = f"<{key}>"
    grams = {padded[i : i + CHAR_GRAM] for i in range(max(1, len(padded) - CHAR_GRAM + 1))}
    return word, (word, *(_gram_hash(g) for g in sorted(grams)))


@lru_cache(maxsize=1 << 16)
def _gram_hash(gram: str) -> int:
    """A trigram's hash: far fewer trigrams than words, so new words mostly reuse them."""
    return _feature_hash("\x01" + gram)


def signature(text: str) -> Signature:
    """The MinHash signature of a post (``()`` when it has no words: emoji, URLs only)."""
    words = hash_words(text)
    if not words:
        return ()
    features: set[int] = set()
    prev = -1
    for w in words:
        word, own = _word_features(w)
        features.update(own)
        if prev >= 0:  # the word pair, mixed from the two word hashes (no third digest)
            features.add(((prev * 0x9E3779B97F4A7C15) ^ word) * 0xBF58476D1CE4E5B9 & _M64)
        prev = word
    # One-permutation hashing: a feature's hash picks its slot and competes there; written in
    # descending order, the last hash written to a slot is its minimum.
    best: dict[int, int] = {}
    for h in sorted(features, reverse=True):
        best[h % SLOTS] = h
    slots = [(best[i] >> 32) & SLOT_MASK if i in best else -1 for i in range(SLOTS)]
    if len(best) < SLOTS:
        _densify(slots)
    return tuple(slots)


def _densify(slots: list[int]) -> None:
    """Fill empty slots (short posts) from the next filled one, so that similar posts fill
    them alike (rotation densification); the shift keeps the copies apart from real values."""
    n = len(slots)
    for i in range(n):
        if slots[i] < 0:
            j = 1
            while slots[(i + j) % n] < 0:
                j += 1
            slots[i] = (slots[(i + j) % n] + j * 7919) & SLOT_MASK


def agreement(a: Signature, b: Signature) -> int:
    """How many slots two signatures share (0 when either text had no words)."""
    if not a or not b:
        return 0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y)


def is_near_duplicate(a: Signature, b: Signature) -> bool:
    """Whether two signatures belong to near-duplicate texts."""
    return agreement(a, b) >= NEAR_DUPLICATE_SLOTS


def band_keys(sig: Signature) -> list[str]:
    """Lookup keys: near duplicates share at least one of these 8 (none for an empty text)."""
    if not sig:
        return []
    return [
        f"{i}:" + "".join(f"{v:04x}" for v in sig[i * BAND_SLOTS : (i + 1) * BAND_SLOTS])
        for i in range(BANDS)
    ]


def signature_to_str(sig: Signature) -> str:
    """Fixed-width hex, 4 digits a slot: how a signature is stored."""
    return "".join(f"{v:04x}" for v in sig)


def signature_from_str(s: str) -> Signature:
    """The inverse of :func:`signature_to_str`; () for anything that is not a signature."""
    if len(s) != 4 * SLOTS:
        return ()
    try:
        return tuple(int(s[i : i + 4], 16) for i in range(0, len(s), 4))
    except ValueError:
        return ()


def incident_key_for(mention_key: str) -> str:
    """Key of an incident opened by a mention: deterministic, so a redelivery cannot fork it."""
    return "inc_" + hashlib.sha256(mention_key.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class IncidentProbe:
    """What we know of a new matched mention when deciding its incident."""

    mention_key: str
    leader_id: str
    query_ids: tuple[str, ...]
    signature: Signature
    at: datetime
    references: tuple[str, ...] = ()  # mention keys this one reposts or quotes


@dataclass(frozen=True)
class IncidentRecord:
    """An incident as the index holds it."""

    incident_key: str
    leader_id: str
    query_ids: tuple[str, ...]
    signatures: tuple[Signature, ...]
    first_seen: datetime
    last_seen: datetime
    mention_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentDecision:
    incident_key: str
    reason: str  # reference | near_duplicate | same_leader_query | new | redelivery
    agreement: int | None = None  # slots shared with the nearest signature (near_duplicate)


def decide_incident(
    probe: IncidentProbe,
    candidates: Iterable[IncidentRecord],
    window: timedelta = DEFAULT_WINDOW,
    min_agreement: int = NEAR_DUPLICATE_SLOTS,
) -> IncidentDecision:
    """Choose the incident of ``probe`` among ``candidates`` (records fetched by band, leader...).

    A candidate counts only when the probe falls within ``window`` of its span of mentions, on
    either side: polls return timelines newest first and backfills arrive late, so a post older
    than an incident's first mention must not join it just for being older than its last.
    """
    live = [c for c in candidates if c.first_seen - window <= probe.at <= c.last_seen + window]
    refs = set(probe.references)
    by_ref = [c for c in live if refs.intersection(c.mention_keys)]
    if by_ref:
        best = max(by_ref, key=lambda c: (c.last_seen, c.incident_key))
        return IncidentDecision(best.incident_key, "reference")
    if probe.signature:
        near: list[tuple[int, IncidentRecord]] = []
        for c in live:
            a = max((agreement(probe.signature, s) for s in c.signatures), default=0)
            if a >= min_agreement:
                near.append((a, c))
        if near:
            a, best = min(
                near, key=lambda x: (-x[0], -x[1].last_seen.timestamp(), x[1].incident_key)
            )
            return IncidentDecision(best.incident_key, "near_duplicate", a)
    queries = set(probe.query_ids)
    same = [c for c in live if c.leader_id == probe.leader_id and queries.intersection(c.query_ids)]
    if probe.leader_id and same:
        best = max(same, key=lambda c: (c.last_seen, c.incident_key))
        return IncidentDecision(best.incident_key, "same_leader_query")
    return IncidentDecision(incident_key_for(probe.mention_key), "new")


MAX_SIGNATURES_KEPT = 50  # a viral incident's record stays small; its first texts suffice


def record_with(
    old: IncidentRecord | None,
    probe: IncidentProbe,
    incident_key: str,
    max_mentions: int | None = None,
) -> IncidentRecord:
    """The incident record after ``probe`` joined it (or opened it, when ``old`` is None)."""
    sigs = old.signatures if old else ()
    if probe.signature and probe.signature not in sigs and len(sigs) < MAX_SIGNATURES_KEPT:
        sigs = (*sigs, probe.signature)
    mentions = old.mention_keys if old else ()
    if probe.mention_key not in mentions:
        mentions = (*mentions, probe.mention_key)
        if max_mentions is not None:
            mentions = mentions[-max_mentions:]
    return IncidentRecord(
        incident_key,
        old.leader_id if old else probe.leader_id,
        tuple(dict.fromkeys((old.query_ids if old else ()) + probe.query_ids)),
        sigs,
        old.first_seen if old else probe.at,
        max(old.last_seen, probe.at) if old else probe.at,
        mentions,
    )


def band_entry(at: datetime, incident_key: str) -> str:
    """Sort key of a band entry: newest first when read in reverse, so a band read is bounded
    to the :data:`BAND_READ_LIMIT` most recent incidents that wrote it."""
    return f"{at.isoformat()}#{incident_key}"


@dataclass
class IncidentIndex:
    """An in-memory index with the lookups the DynamoDB one offers (bands, leader, mention).

    Used by tests, the bench, ``tvarit incidents`` and the local stack; the production index
    stores the same keys and reads bands with the same limit.
    """

    records: dict[str, IncidentRecord] = field(default_factory=dict)
    by_band: dict[str, set[str]] = field(default_factory=dict)  # band -> band entries
    # (leader, query) -> entries, read like a band: the newest BAND_READ_LIMIT.
    by_leader_query: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    by_mention: dict[str, str] = field(default_factory=dict)

    def candidates(self, probe: IncidentProbe) -> list[IncidentRecord]:
        """Records that could hold ``probe``: sharing a band, leader+query or a referenced post."""
        keys: set[str] = set()
        for b in band_keys(probe.signature):
            newest = sorted(self.by_band.get(b, ()), reverse=True)[:BAND_READ_LIMIT]
            keys.update(e.rsplit("#", 1)[1] for e in newest)
        for q in probe.query_ids:
            same = self.by_leader_query.get((probe.leader_id, q), ())
            keys.update(e.rsplit("#", 1)[1] for e in sorted(same, reverse=True)[:BAND_READ_LIMIT])
        for ref in probe.references:
            if ref in self.by_mention:
                keys.add(self.by_mention[ref])
        return [self.records[k] for k in sorted(keys)]

    def assign(self, probe: IncidentProbe, window: timedelta = DEFAULT_WINDOW) -> IncidentDecision:
        """Decide the incident of ``probe`` and record the mention in it; a mention assigned
        before gets its incident back (reason ``redelivery``) and changes nothing."""
        if probe.mention_key in self.by_mention:
            return IncidentDecision(self.by_mention[probe.mention_key], "redelivery")
        decision = decide_incident(probe, self.candidates(probe), window)
        key = decision.incident_key
        self.records[key] = record_with(self.records.get(key), probe, key)
        for b in band_keys(probe.signature):
            self.by_band.setdefault(b, set()).add(band_entry(probe.at, key))
        for q in probe.query_ids:
            self.by_leader_query.setdefault((probe.leader_id, q), set()).add(
                band_entry(probe.at, key)
            )
        self.by_mention[probe.mention_key] = key
        return decision


# ---- priority ---------------------------------------------------------------------------------

ENGAGEMENT_WEIGHTS: Mapping[str, float] = {
    "like_count": 1.0,
    "reply_count": 2.0,
    "retweet_count": 3.0,
    "repost_count": 3.0,
    "quote_count": 4.0,  # a quote is usually someone arguing about it: the strongest signal
    "share_count": 3.0,
    "comment_count": 2.0,
    "view_count": 0.01,
}
MIN_AGE = timedelta(minutes=10)  # a brand-new post's first likes should not read as infinite


def engagement(metrics: Mapping[str, int]) -> float:
    """Weighted engagement of a post from its platform metrics (unknown keys ignored)."""
    return sum(ENGAGEMENT_WEIGHTS.get(k, 0.0) * max(0, v) for k, v in metrics.items())


def engagement_velocity(posted_at: datetime, samples: Sequence[tuple[datetime, float]]) -> float:
    """Engagement per hour: the slope of the latest two samples, or since posting for one."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    at, value = ordered[-1]
    if len(ordered) == 1:
        hours = max(at - posted_at, MIN_AGE).total_seconds() / 3600
        return max(0.0, value) / hours
    prev_at, prev_value = ordered[-2]
    hours = max(at - prev_at, timedelta(seconds=1)).total_seconds() / 3600
    return max(0.0, value - prev_value) / hours


@dataclass(frozen=True)
class Priority:
    severity: int
    reach: float
    velocity: float
    score: float


def priority(severity: int, followers: int | None, velocity_per_hour: float) -> Priority:
    """severity (1..5) x (1 + log10(1 + followers)) x (1 + log10(1 + velocity per hour))."""
    sev = min(5, max(1, severity))
    reach = 1.0 + math.log10(1 + max(0, followers or 0))
    vel = 1.0 + math.log10(1 + max(0.0, velocity_per_hour))
    return Priority(sev, round(reach, 4), round(vel, 4), round(sev * reach * vel, 3))
