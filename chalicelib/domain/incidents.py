"""Incidents: mentions that are the same gaffe share one incident, and one task per team.

A mention joins an existing incident when (in this order) it reposts or quotes a mention we
already hold, its text is a near duplicate (64-bit SimHash over normalized one- and two-word
shingles, Hamming distance <= 6, found through 8 bands of 8 bits: by pigeonhole two hashes
within distance 7 share at least one band), or it comes from the same leader for the same
keyword query within the window. Otherwise it opens a new incident keyed by the mention.

Why 1+2-word shingles and 6 bits: posts are short, so with 3-word shingles one edited word
flips many bits. Measured by ``make bench-incidents`` on 4,412 real original posts
(``../shared/data/posts``): a truncated "RT @x: ... …" copy stays within 6 bits 83.5% of the
time (3-word shingles at 3 bits: 65.3%), "Shameful! " + post 83.5% (11.5%), and no pair of
different posts among 100,000 random pairs came within 6 bits (nearest: 13).

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

import regex

SIMHASH_BITS = 64
BANDS = 8
BAND_BITS = SIMHASH_BITS // BANDS
NEAR_DUPLICATE_DISTANCE = 6
SHINGLE_SIZES = (1, 2)
DEFAULT_WINDOW = timedelta(hours=6)

_RT_PREFIX = regex.compile(r"^\s*(?:RT\s*@[\w.]+\s*:?\s*)+", regex.IGNORECASE)
_VIA = regex.compile(r"\s+(?:via|h/t)\s+@[\w.]+\s*$", regex.IGNORECASE)
_URL = regex.compile(r"(?:https?://|www\.)\S+", regex.IGNORECASE)
_HANDLE = regex.compile(r"(?<![\w@])@[\w.]+")
_INVISIBLE = regex.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
_TRUNCATED_TAIL = regex.compile(r"[\p{L}\p{M}\p{N}]*(?:…|\.\.\.)\s*$")


def hash_tokens(text: str) -> list[str]:
    """Words of a post as SimHash sees them: no RT prefix, URLs, handles, case or '#'."""
    t = unicodedata.normalize("NFC", text or "")
    t = _INVISIBLE.sub("", t.replace("&amp;", "&"))
    t = _RT_PREFIX.sub("", t)
    t = _URL.sub(" ", t)
    t = _VIA.sub("", t)
    # A repost cut at the platform's limit ends in "…": its last word is a fragment.
    t = _TRUNCATED_TAIL.sub("", t)
    t = _HANDLE.sub(" ", t)
    return [w.casefold() for w in _WORD.findall(t)]


def shingles(tokens: Sequence[str], k: int) -> list[str]:
    """Overlapping k-word shingles; a text shorter than k is one shingle."""
    if not tokens:
        return []
    if len(tokens) <= k:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


def _feature_hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


def simhash(text: str) -> int:
    """64-bit SimHash of a post's normalized word shingles (0 for a text with no words)."""
    tokens = hash_tokens(text)
    hashes = [_feature_hash(s) for k in SHINGLE_SIZES for s in shingles(tokens, k)]
    if not hashes:
        return 0
    half = len(hashes) / 2
    result = 0
    for bit in range(SIMHASH_BITS):
        mask = 1 << bit
        ones = sum(1 for h in hashes if h & mask)
        if ones > half:
            result |= mask
    return result


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


def band_keys(h: int) -> list[str]:
    """Lookup keys: two hashes within distance 7 share at least one of these 8."""
    mask = (1 << BAND_BITS) - 1
    return [f"{i}:{(h >> (i * BAND_BITS)) & mask:02x}" for i in range(BANDS)]


def incident_key_for(mention_key: str) -> str:
    """Key of an incident opened by a mention: deterministic, so a redelivery cannot fork it."""
    return "inc_" + hashlib.sha256(mention_key.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class IncidentProbe:
    """What we know of a new matched mention when deciding its incident."""

    mention_key: str
    leader_id: str
    query_ids: tuple[str, ...]
    simhash: int
    at: datetime
    references: tuple[str, ...] = ()  # mention keys this one reposts or quotes


@dataclass(frozen=True)
class IncidentRecord:
    """An incident as the index holds it."""

    incident_key: str
    leader_id: str
    query_ids: tuple[str, ...]
    simhashes: tuple[int, ...]
    first_seen: datetime
    last_seen: datetime
    mention_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentDecision:
    incident_key: str
    reason: str  # reference | near_duplicate | same_leader_query | new
    distance: int | None = None


def decide_incident(
    probe: IncidentProbe,
    candidates: Iterable[IncidentRecord],
    window: timedelta = DEFAULT_WINDOW,
    max_distance: int = NEAR_DUPLICATE_DISTANCE,
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
    if probe.simhash:
        near: list[tuple[int, IncidentRecord]] = []
        for c in live:
            d = min((hamming(probe.simhash, h) for h in c.simhashes if h), default=None)
            if d is not None and d <= max_distance:
                near.append((d, c))
        if near:
            d, best = min(
                near, key=lambda x: (x[0], -x[1].last_seen.timestamp(), x[1].incident_key)
            )
            return IncidentDecision(best.incident_key, "near_duplicate", d)
    queries = set(probe.query_ids)
    same = [c for c in live if c.leader_id == probe.leader_id and queries.intersection(c.query_ids)]
    if probe.leader_id and same:
        best = max(same, key=lambda c: (c.last_seen, c.incident_key))
        return IncidentDecision(best.incident_key, "same_leader_query")
    return IncidentDecision(incident_key_for(probe.mention_key), "new")


@dataclass
class IncidentIndex:
    """An in-memory index with the lookups the DynamoDB one offers (bands, leader, mention).

    Used by tests, the bench and the local stack; the production index stores the same keys.
    """

    records: dict[str, IncidentRecord] = field(default_factory=dict)
    by_band: dict[str, set[str]] = field(default_factory=dict)
    by_leader_query: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    by_mention: dict[str, str] = field(default_factory=dict)

    def candidates(self, probe: IncidentProbe) -> list[IncidentRecord]:
        """Records that could hold ``probe``: sharing a band, leader+query or a referenced post."""
        keys: set[str] = set()
        if probe.simhash:
            for b in band_keys(probe.simhash):
                keys.update(self.by_band.get(b, ()))
        for q in probe.query_ids:
            keys.update(self.by_leader_query.get((probe.leader_id, q), ()))
        for ref in probe.references:
            if ref in self.by_mention:
                keys.add(self.by_mention[ref])
        return [self.records[k] for k in sorted(keys)]

    def assign(self, probe: IncidentProbe, window: timedelta = DEFAULT_WINDOW) -> IncidentDecision:
        """Decide the incident of ``probe`` and record the mention in it."""
        decision = decide_incident(probe, self.candidates(probe), window)
        old = self.records.get(decision.incident_key)
        if old is None:
            rec = IncidentRecord(
                decision.incident_key,
                probe.leader_id,
                probe.query_ids,
                (probe.simhash,),
                probe.at,
                probe.at,
                (probe.mention_key,),
            )
        else:
            rec = IncidentRecord(
                old.incident_key,
                old.leader_id,
                tuple(dict.fromkeys(old.query_ids + probe.query_ids)),
                old.simhashes + ((probe.simhash,) if probe.simhash not in old.simhashes else ()),
                old.first_seen,
                max(old.last_seen, probe.at),
                (*old.mention_keys, probe.mention_key),
            )
        self.records[rec.incident_key] = rec
        if probe.simhash:
            for b in band_keys(probe.simhash):
                self.by_band.setdefault(b, set()).add(rec.incident_key)
        for q in probe.query_ids:
            self.by_leader_query.setdefault((probe.leader_id, q), set()).add(rec.incident_key)
        self.by_mention[probe.mention_key] = rec.incident_key
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
