"""What a warrior's phone receives: SNS payloads per protocol, attributes, and the publish plan.

One publish to a state topic reaches many teams: the ``team_ids`` attribute is a String.Array
of team ids or tokens (``@state:UP``, ``@district:UP/LKO``, ``@lead:<team>``...) and each
device subscription's filter policy (see ``subscriptions.py``) lists the tokens it answers to.
Because a single message serves many teams, it carries the incident key and version; a team's
task id is ``task_id_for(team_id, incident_key)``, so a phone derives its own task id and drops
any (task id, version) it has already shown. Messages aimed at exactly one team also carry the
task id itself; the ``default`` payload of a message to at most 50 teams carries the whole
team -> task id map (larger maps would cost extra calls for no new information).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import regex

from chalicelib.domain.routing import TeamDirectory
from chalicelib.domain.tasks import Task

TASK_MAP_MAX = 50  # explicit team -> task id maps only for small audiences (size)
SNS_MESSAGE_LIMIT = 262_144  # bytes, message + attributes; also the PublishBatch aggregate
BATCH_MAX_ENTRIES = 10
FCM_PAYLOAD_LIMIT = 4_096  # FCM data and APNs payloads are each capped at 4 KB
GSM7_SEGMENT = 160
UCS2_SEGMENT = 70
EMAIL_SUBJECT_MAX = 99

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = frozenset("^{}\\[~]|€\f")  # each costs two septets (escape + char)
# Typographic punctuation that would silently force a Latin SMS into UCS-2 (70 chars).
_ASCII_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_GRAPHEME = regex.compile(r"\X")
_SPACE = regex.compile(r"\s+")

# Languages a state's warriors are served in, first = fallback. Both the publisher and the
# subscription side read this table, so every subscription matches exactly one entry.
DELIVERY_LANGUAGES: dict[str, tuple[str, ...]] = {
    "AN": ("hi", "en"), "AP": ("te", "en"), "AR": ("en", "hi"), "AS": ("as", "bn", "en"),
    "BR": ("hi", "en"), "CH": ("hi", "pa", "en"), "CG": ("hi", "en"), "DH": ("gu", "hi", "en"),
    "DL": ("hi", "en"), "GA": ("en", "mr", "hi"), "GJ": ("gu", "hi", "en"),
    "HP": ("hi", "en"), "HR": ("hi", "en"), "JH": ("hi", "en"), "JK": ("ur", "hi", "en"),
    "KA": ("kn", "en"), "KL": ("ml", "en"), "LA": ("hi", "en"), "LD": ("ml", "en"),
    "MH": ("mr", "hi", "en"), "ML": ("en",), "MN": ("en", "hi"), "MP": ("hi", "en"),
    "MZ": ("en",), "NL": ("en",), "OD": ("or", "en"), "PB": ("pa", "hi", "en"),
    "PY": ("ta", "en"), "RJ": ("hi", "en"), "SK": ("ne", "en"), "TN": ("ta", "en"),
    "TG": ("te", "ur", "en"), "TR": ("bn", "en"), "UP": ("hi", "ur", "en"),
    "UK": ("hi", "en"), "WB": ("bn", "en"),
}  # fmt: skip

# (app name, "respond" word) per language; the post excerpt itself stays as it was written.
_PHRASES: dict[str, tuple[str, str]] = {
    "en": ("Tvarit", "Reply"),
    "hi-Latn": ("Tvarit", "Jawab do"),
    "hi": ("त्वरित", "जवाब दें"),
    "mr": ("त्वरित", "उत्तर द्या"),
    "ne": ("त्वरित", "जवाफ दिनुहोस्"),
    "bn": ("ত্বরিত", "উত্তর দিন"),
    "as": ("ত্বৰিত", "উত্তৰ দিয়ক"),
    "gu": ("ત્વરિત", "જવાબ આપો"),
    "pa": ("ਤਵਰਿਤ", "ਜਵਾਬ ਦਿਓ"),
    "ta": ("த்வரித்", "பதில்"),
    "te": ("త్వరిత్", "స్పందించండి"),
    "kn": ("ತ್ವರಿತ", "ಪ್ರತಿಕ್ರಿಯಿಸಿ"),
    "ml": ("ത്വരിത്", "മറുപടി"),
    "or": ("ତ୍ୱରିତ", "ଉତ୍ତର ଦିଅ"),
    "ur": ("تورت", "جواب دیں"),
}


def delivery_languages(state: str) -> tuple[str, ...]:
    """Languages a state's notices are rendered in (never empty)."""
    return DELIVERY_LANGUAGES.get(state, ("en",))


def delivery_language(state: str, preferred: Sequence[str]) -> str:
    """The one language a warrior is served in: their first preference the state offers."""
    offered = delivery_languages(state)
    return next((lang for lang in preferred if lang in offered), offered[0])


# ---- SMS --------------------------------------------------------------------------------------


def sms_encoding(text: str) -> str:
    """``GSM-7`` when every character is in the GSM 03.38 alphabet, else ``UCS-2``."""
    return "GSM-7" if all(c in _GSM7_BASIC or c in _GSM7_EXT for c in text) else "UCS-2"


def sms_units(text: str) -> int:
    """Length as the carrier counts it: septets for GSM-7, UTF-16 code units for UCS-2."""
    if sms_encoding(text) == "GSM-7":
        return sum(2 if c in _GSM7_EXT else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def sms_fits_one_segment(text: str) -> bool:
    """True when ``text`` goes out as a single, unconcatenated SMS."""
    limit = GSM7_SEGMENT if sms_encoding(text) == "GSM-7" else UCS2_SEGMENT
    return sms_units(text) <= limit


def _clip(text: str, fixed: str, compose: Callable[[str], str]) -> str:
    """Longest prefix of ``text`` (whole graphemes) such that ``compose`` stays one segment."""
    whole = compose(text)
    if sms_fits_one_segment(whole):
        return whole
    clusters = _GRAPHEME.findall(text)
    lo, hi = 0, len(clusters)
    best = compose("")
    while lo <= hi:  # binary search: the units count is monotone in the prefix length
        mid = (lo + hi) // 2
        cand = compose("".join(clusters[:mid]).rstrip() + fixed)
        if sms_fits_one_segment(cand):
            best, lo = cand, mid + 1
        else:
            hi = mid - 1
    return best


def sms_text(
    *, lang: str, severity: int, leader: str, excerpt: str, link: str, escalation: bool = False
) -> str:
    """One-segment SMS in ``lang``: severity, who, what was said (clipped), reply word, link.

    The sender id already names the app, so the text spends no characters on it.
    """
    _, reply = _PHRASES.get(lang, _PHRASES["en"])
    said = f"{leader}: {excerpt}" if leader.strip() else excerpt
    body = _SPACE.sub(" ", said.translate(_ASCII_FOLD)).strip()
    head = f"S{severity}" + ("!!" if escalation else "!" * (severity >= 4))

    def compose(b: str) -> str:
        return " ".join(part for part in (head, b, reply, link) if part)

    # "..." stays GSM-7; a Unicode ellipsis would force UCS-2 on a Latin text.
    ellipsis = "..." if sms_encoding(compose(body)) == "GSM-7" else "…"
    text = _clip(body, ellipsis, compose)
    if not sms_fits_one_segment(text):  # the link alone is too long: drop the body
        text = f"{head} {link}"
    return text


# ---- notices and payloads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """Where a notice points: app deep links and a short web link for SMS/e-mail."""

    app_scheme: str = "tvarit://incident/"
    web_base: str = "https://tvr.in/i/"
    sms_base: str = "tvr.in/i/"  # phones linkify it; the scheme would cost 8 of 70 characters


def short_ref(incident_key: str) -> str:
    """A short, stable, URL-safe reference to an incident for SMS and batch entry ids."""
    return hashlib.sha256(incident_key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Notice:
    """One message to some teams of one state about one incident at one version."""

    state: str
    incident_key: str
    version: int
    severity: int
    lang: str
    team_ids: tuple[str, ...]
    districts: tuple[str, ...] = ()
    kind: str = "task"  # task | update | digest | escalation
    leader_name: str = ""
    category: str = ""
    excerpt: str = ""
    url: str = ""
    task_id: str = ""
    tasks: Mapping[str, str] = field(default_factory=dict)  # team id -> task id, small groups
    extra: Mapping[str, str] = field(default_factory=dict)


def _data(n: Notice, links: Links) -> dict[str, str]:
    ref = short_ref(n.incident_key)
    data = {
        "type": n.kind,
        "incident": n.incident_key,
        "v": str(n.version),
        "severity": str(n.severity),
        "lang": n.lang,
        "state": n.state,
        "leader": n.leader_name,
        "category": n.category,
        "excerpt": n.excerpt,
        "url": n.url,
        "link": f"{links.app_scheme}{ref}?v={n.version}",
    }
    if n.task_id:
        data["task_id"] = n.task_id
    data.update(n.extra)
    return data


def _fit_push(build: Any, data: dict[str, str]) -> str:
    # Push payloads are capped at 4 KB: shorten the excerpt until the payload fits.
    text = json.dumps(build(data), ensure_ascii=False, separators=(",", ":"))
    excerpt = data.get("excerpt", "")
    while len(text.encode()) > FCM_PAYLOAD_LIMIT and excerpt:
        excerpt = excerpt[: len(excerpt) * 3 // 4]
        data = {**data, "excerpt": excerpt}
        text = json.dumps(build(data), ensure_ascii=False, separators=(",", ":"))
    return text


def gcm_payload(n: Notice, links: Links = Links()) -> str:
    """FCM v1 data message (the app renders it, knows its team, and dedupes on task+version)."""

    def build(data: dict[str, str]) -> dict[str, Any]:
        return {
            "fcmV1Message": {
                "message": {
                    "data": data,
                    "android": {
                        "priority": "high" if n.severity >= 4 else "normal",
                        "collapse_key": short_ref(n.incident_key),
                        "ttl": "86400s",
                    },
                }
            }
        }

    return _fit_push(build, _data(n, links))


def _title(n: Notice) -> str:
    app, _ = _PHRASES.get(n.lang, _PHRASES["en"])
    what = {"escalation": "ESCALATION", "digest": "Digest", "update": "Update"}.get(n.kind, "")
    return " ".join(x for x in (app, f"S{n.severity}", what, n.leader_name) if x)


def apns_payload(n: Notice, links: Links = Links()) -> str:
    """APNs alert with the same data keys; severity 4+ is time-sensitive."""

    def build(data: dict[str, str]) -> dict[str, Any]:
        return {
            "aps": {
                "alert": {"title": _title(n), "body": data.get("excerpt", "")[:180]},
                "sound": "default",
                "thread-id": short_ref(n.incident_key),
                "interruption-level": "time-sensitive" if n.severity >= 4 else "active",
                "mutable-content": 1,
            },
            **{k: v for k, v in data.items() if k != "excerpt"},
        }

    return _fit_push(build, _data(n, links))


def _ascii(text: str) -> str:
    return "".join(c for c in text if " " <= c <= "~")


def email_subject(n: Notice) -> str:
    """One ASCII line under 100 characters: older SNS docs allow only ASCII subjects.

    The leader's name is kept only when it is ASCII; the body carries it in any script.
    """
    what = {"escalation": "ESCALATION", "digest": "Digest", "update": "Update"}.get(n.kind, "")
    leader = _ascii(n.leader_name) if n.leader_name.isascii() else ""
    head = " ".join(x for x in ("Tvarit", f"S{n.severity}", what, leader) if x)
    ref = f"[{short_ref(n.incident_key)} v{n.version}]"
    category = _ascii(n.category).strip() or "mention"
    subject = _SPACE.sub(" ", f"{head}: {category}").strip()
    room = EMAIL_SUBJECT_MAX - len(ref) - 1
    if len(subject) > room:
        subject = subject[: room - 3].rstrip() + "..."
    return f"{subject} {ref}"


def email_body(n: Notice, links: Links = Links()) -> str:
    """Plain-text e-mail: the post, the link, and the references receivers dedupe on."""
    lines = [
        f"{n.leader_name or 'A watched leader'} ({n.category or 'mention'}, severity {n.severity})",
        "",
        n.excerpt,
        "",
        f"Post: {n.url}" if n.url else "",
        f"Respond: {links.web_base}{short_ref(n.incident_key)}?v={n.version}",
        "",
        f"incident {n.incident_key} · version {n.version}"
        + (f" · task {n.task_id}" if n.task_id else ""),
    ]
    return "\n".join(line for line in lines if line is not None)


def render_message(n: Notice, links: Links = Links()) -> dict[str, str]:
    """The ``Message`` object for ``MessageStructure=json``: one text per protocol."""
    data = _data(n, links)
    apns = apns_payload(n, links)
    default: dict[str, Any] = dict(data)
    if n.tasks:
        default["tasks"] = dict(n.tasks)
    return {
        "default": json.dumps(default, ensure_ascii=False, separators=(",", ":")),
        "GCM": gcm_payload(n, links),
        "APNS": apns,
        "APNS_SANDBOX": apns,
        "sms": sms_text(
            lang=n.lang,
            severity=n.severity,
            leader=n.leader_name,
            excerpt=n.excerpt,
            link=f"{links.sms_base}{short_ref(n.incident_key)}.{n.version}",
            escalation=n.kind == "escalation",
        ),
        "email": email_body(n, links),
    }


def message_attributes(n: Notice) -> dict[str, dict[str, str]]:
    """SNS message attributes matched by subscription filter policies (boto3 shape)."""
    attrs = {
        "team_ids": {
            "DataType": "String.Array",
            "StringValue": json.dumps(list(n.team_ids), separators=(",", ":")),
        },
        "state": {"DataType": "String", "StringValue": n.state},
        "severity": {"DataType": "Number", "StringValue": str(n.severity)},
        "lang": {"DataType": "String", "StringValue": n.lang},
        "kind": {"DataType": "String", "StringValue": n.kind},
    }
    if n.districts:
        attrs["district"] = {
            "DataType": "String.Array",
            "StringValue": json.dumps(sorted(set(n.districts)), separators=(",", ":")),
        }
    return attrs


# ---- the publish plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One message: a ``PublishBatchRequestEntries`` item or the arguments of one Publish."""

    id: str
    message: str
    subject: str
    attributes: Mapping[str, Mapping[str, str]]
    size: int
    notice: Notice


@dataclass(frozen=True)
class Publish:
    """One SNS API call to one state topic: ``Publish`` for one entry, else ``PublishBatch``."""

    state: str
    entries: tuple[Entry, ...]

    @property
    def api(self) -> str:
        """The SNS action this call uses."""
        return "Publish" if len(self.entries) == 1 else "PublishBatch"

    @property
    def size(self) -> int:
        """Bytes as SNS counts them, over every entry."""
        return sum(e.size for e in self.entries)

    def request(self, topic_arn: str) -> dict[str, Any]:
        """The boto3 keyword arguments of this call (``sns.publish`` or ``sns.publish_batch``)."""
        if len(self.entries) == 1:
            e = self.entries[0]
            return {
                "TopicArn": topic_arn,
                "Message": e.message,
                "Subject": e.subject,
                "MessageStructure": "json",
                "MessageAttributes": {k: dict(v) for k, v in e.attributes.items()},
            }
        return {
            "TopicArn": topic_arn,
            "PublishBatchRequestEntries": [
                {
                    "Id": e.id,
                    "Message": e.message,
                    "Subject": e.subject,
                    "MessageStructure": "json",
                    "MessageAttributes": {k: dict(v) for k, v in e.attributes.items()},
                }
                for e in self.entries
            ],
        }


def _entry_size(message: str, subject: str, attrs: Mapping[str, Mapping[str, str]]) -> int:
    # SNS counts the message body and every attribute's name, type and value.
    size = len(message.encode()) + len(subject.encode())
    for name, a in attrs.items():
        size += len(name.encode()) + len(a["DataType"].encode()) + len(a["StringValue"].encode())
    return size


def build_entry(n: Notice, links: Links = Links()) -> Entry:
    """Render one notice into one publishable entry, sized as SNS counts it."""
    message = json.dumps(render_message(n, links), ensure_ascii=False, separators=(",", ":"))
    subject = email_subject(n)
    attrs = message_attributes(n)
    # Derived from content only, so a repeat publish of the same tasks is byte-identical.
    audience = hashlib.sha256("\x1f".join(n.team_ids).encode()).hexdigest()[:8]
    ident = f"{short_ref(n.incident_key)}-v{n.version}-{n.kind}-{n.lang}-{audience}"[:80]
    return Entry(ident, message, subject, attrs, _entry_size(message, subject, attrs), n)


def _entries_for(n: Notice, links: Links, limit: int) -> list[Entry]:
    entry = build_entry(n, links)
    if entry.size <= limit or len(n.team_ids) <= 1:
        return [entry]
    half = len(n.team_ids) // 2  # too many team ids for one message: split the audience
    halves = (n.team_ids[:half], n.team_ids[half:])
    left, right = (
        replace(n, team_ids=h, tasks={k: v for k, v in n.tasks.items() if k in h}) for h in halves
    )
    return _entries_for(left, links, limit) + _entries_for(right, links, limit)


def pack(entries: Iterable[Entry], limit: int = SNS_MESSAGE_LIMIT) -> list[Publish]:
    """Pack entries into as few calls as possible: same topic, <= 10 entries, <= 256 KB each."""
    by_state: dict[str, list[Entry]] = {}
    for e in entries:
        by_state.setdefault(e.notice.state, []).append(e)
    calls: list[Publish] = []
    for state, items in by_state.items():
        bins: list[list[Entry]] = []
        sizes: list[int] = []
        # first-fit decreasing keeps the call count near the minimum for our few sizes
        for e in sorted(items, key=lambda x: -x.size):
            for i, b in enumerate(bins):
                if len(b) < BATCH_MAX_ENTRIES and sizes[i] + e.size <= limit:
                    b.append(e)
                    sizes[i] += e.size
                    break
            else:
                bins.append([e])
                sizes.append(e.size)
        calls.extend(Publish(state, tuple(b)) for b in bins)
    return calls


def team_tokens(
    state: str, team_ids: Sequence[str], directory: TeamDirectory | None
) -> tuple[str, ...]:
    """Collapse a complete state or district audience into one ``@state``/``@district`` token."""
    if directory is None:
        return tuple(team_ids)
    chosen = set(team_ids)
    everyone = directory.by_state.get(state, ())
    if everyone and len(chosen) == len(everyone) and chosen.issuperset(everyone):
        return (f"@state:{state}",)
    tokens: list[str] = []
    covered: set[str] = set()
    for (st, district), ids in directory.by_district.items():
        if st == state and chosen.issuperset(ids):
            tokens.append(f"@district:{state}/{district}")
            covered.update(ids)
    tokens.extend(t for t in team_ids if t not in covered)
    return tuple(tokens)


def notices_for_tasks(
    tasks: Iterable[Task], directory: TeamDirectory | None = None, kind: str = "task"
) -> list[Notice]:
    """Group tasks by (state, incident, version) and render one notice per delivery language.

    ``kind`` is the caller's: ``task`` for a first dispatch, ``update`` when open tasks changed.
    """
    groups: dict[tuple[str, str, int], list[Task]] = {}
    for t in tasks:
        groups.setdefault((t.state, t.incident_key, t.version), []).append(t)
    notices: list[Notice] = []
    # Sorted throughout: the same tasks in any order give the same messages.
    for (state, incident_key, version), group in sorted(groups.items()):
        group.sort(key=lambda t: t.team_id)
        head = group[0]
        team_ids = tuple(dict.fromkeys(t.team_id for t in group))
        tokens = team_tokens(state, team_ids, directory)
        for lang in delivery_languages(state):
            notices.append(
                Notice(
                    state=state,
                    incident_key=incident_key,
                    version=version,
                    severity=max(t.severity for t in group),
                    lang=lang,
                    team_ids=tokens,
                    districts=tuple(sorted({t.district for t in group if t.district})),
                    kind=kind,
                    leader_name=head.leader_name,
                    category=head.category,
                    excerpt=head.excerpt,
                    url=head.url,
                    task_id=head.task_id if len(team_ids) == 1 else "",
                    tasks={t.team_id: t.task_id for t in group}
                    if 1 < len(team_ids) <= TASK_MAP_MAX
                    else {},
                )
            )
    return notices


def digest_notices(team_id: str, state: str, tasks: Sequence[Task]) -> list[Notice]:
    """One digest for one team: the tasks held back by rate limits or quiet hours, in one notice.

    Keyed by the held task ids, so a repeated flush of the same digest is the same message.
    """
    held = sorted(tasks, key=lambda t: (-t.severity, t.created_at, t.task_id))
    if not held:
        return []
    key = "dg_" + hashlib.sha256("\x1f".join(t.task_id for t in held).encode()).hexdigest()[:20]
    lines = [f"{t.leader_name or '?'}: {_SPACE.sub(' ', t.excerpt)[:80]}" for t in held]
    return [
        Notice(
            state=state,
            incident_key=key,
            version=1,
            severity=held[0].severity,
            lang=lang,
            team_ids=(team_id,),
            kind="digest",
            leader_name=f"{len(held)} x" if len(held) > 1 else held[0].leader_name,
            category=held[0].category if len(held) == 1 else "digest",
            excerpt=" | ".join(lines),
            url=held[0].url,
            # 100 ids (~2.7 KB) keep the push payload under 4 KB; "held" tells the app if more
            extra={"task_ids": ",".join(t.task_id for t in held[:100]), "held": str(len(held))},
        )
        for lang in delivery_languages(state)
    ]


def plan_notices(
    notices: Iterable[Notice], links: Links = Links(), limit: int = SNS_MESSAGE_LIMIT
) -> list[Publish]:
    """Render notices and pack them into the fewest SNS calls."""
    entries = [e for n in notices for e in _entries_for(n, links, limit)]
    return pack(entries, limit)


def plan_publishes(
    tasks: Iterable[Task],
    directory: TeamDirectory | None = None,
    links: Links = Links(),
    limit: int = SNS_MESSAGE_LIMIT,
    kind: str = "task",
) -> list[Publish]:
    """The SNS calls that deliver ``tasks``: grouped by state topic, split by the size limit."""
    return plan_notices(notices_for_tasks(tasks, directory, kind), links, limit)
