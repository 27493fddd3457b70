"""What a warrior's phone receives: SNS payloads per protocol, attributes, and the publish plan.

One publish to a state topic reaches many teams: the tasks of one (state, incident, version)
become one notice per delivery language, whose ``team_ids`` attribute is a String.Array of team
ids or whole-audience tokens (``@state:UP``, ``@district:UP/LKO``; ``@lead:<team>`` for
escalations), and each subscription's filter policy (see ``subscriptions.py``) picks its team
and its one language. So the cost of an incident grows with states and languages, not teams.

Every notice carries what the warrior acts on: a link (absolute, from the stage's public base
URL; none when that is not configured), the post's own language, the words that matched and
the post's URL. The link of a notice to many teams is the incident link ``/i/<incident>``,
which the page resolves to the reader's own task (task ids are ``task_id_for(team,
incident)``); a notice to one team (and escalations and digests) links the task page itself.
Receivers drop any (incident or task, version) they have shown; the version is the tasks' as
the warrior knows it (:func:`notice_version`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import regex

from chalicelib.domain.links import incident_page_url, task_page_url
from chalicelib.domain.routing import TeamDirectory
from chalicelib.domain.tasks import Task
from chalicelib.domain.tasks import notice_version as notice_version  # re-exported

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

# (app name, "respond", "acknowledge", "open") per language; the post excerpt itself stays as
# it was written. Action words we have not had translated fall back to English.
_PHRASES: dict[str, tuple[str, str, str, str]] = {
    "en": ("Tvarit", "Reply", "Acknowledge", "Open"),
    "hi-Latn": ("Tvarit", "Jawab do", "Sweekar", "Kholen"),
    "hi": ("त्वरित", "जवाब दें", "स्वीकार करें", "खोलें"),
    "mr": ("त्वरित", "उत्तर द्या", "Acknowledge", "Open"),
    "ne": ("त्वरित", "जवाफ दिनुहोस्", "Acknowledge", "Open"),
    "bn": ("ত্বরিত", "উত্তর দিন", "Acknowledge", "Open"),
    "as": ("ত্বৰিত", "উত্তৰ দিয়ক", "Acknowledge", "Open"),
    "gu": ("ત્વરિત", "જવાબ આપો", "Acknowledge", "Open"),
    "pa": ("ਤਵਰਿਤ", "ਜਵਾਬ ਦਿਓ", "Acknowledge", "Open"),
    "ta": ("த்வரித்", "பதில்", "Acknowledge", "Open"),
    "te": ("త్వరిత్", "స్పందించండి", "Acknowledge", "Open"),
    "kn": ("ತ್ವರಿತ", "ಪ್ರತಿಕ್ರಿಯಿಸಿ", "Acknowledge", "Open"),
    "ml": ("ത്വരിത്", "മറുപടി", "Acknowledge", "Open"),
    "or": ("ତ୍ୱରିତ", "ଉତ୍ତର ଦିଅ", "Acknowledge", "Open"),
    "ur": ("تورت", "جواب دیں", "Acknowledge", "Open"),
}
_RTL = frozenset({"ur"})
# E-mail line labels: the reader's language first, English after (Hindi only, for now).
_EMAIL_LABELS: dict[str, dict[str, str]] = {
    "en": {"open": "Open the task", "terms": "Matched", "post_lang": "Post language",
           "post": "Post"},
    "hi": {"open": "काम खोलें", "terms": "मिले शब्द", "post_lang": "पोस्ट की भाषा",
           "post": "पोस्ट"},
}  # fmt: skip
PUSH_BODY_MAX = 180


def delivery_languages(state: str) -> tuple[str, ...]:
    """Languages a state's notices are rendered in (never empty)."""
    return DELIVERY_LANGUAGES.get(state, ("en",))


def delivery_language(state: str, preferred: Sequence[str]) -> str:
    """The one language a warrior is served in: their first preference the state offers."""
    offered = delivery_languages(state)
    return next((lang for lang in preferred if lang in offered), offered[0])


# ---- SMS --------------------------------------------------------------------------------------

# A concatenated SMS spends 6 bytes of each segment on its header: 153 septets or 67 UCS-2
# units per part instead of 160 or 70.
GSM7_PART = 153
UCS2_PART = 67
SMS_SEGMENTS = 2  # the page URL alone is ~50 characters: one Unicode segment cannot hold a notice


def sms_encoding(text: str) -> str:
    """``GSM-7`` when every character is in the GSM 03.38 alphabet, else ``UCS-2``."""
    return "GSM-7" if all(c in _GSM7_BASIC or c in _GSM7_EXT for c in text) else "UCS-2"


def sms_units(text: str) -> int:
    """Length as the carrier counts it: septets for GSM-7, UTF-16 code units for UCS-2."""
    if sms_encoding(text) == "GSM-7":
        return sum(2 if c in _GSM7_EXT else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    """How many SMS the carrier bills for ``text``."""
    gsm = sms_encoding(text) == "GSM-7"
    units = sms_units(text)
    single, part = (GSM7_SEGMENT, GSM7_PART) if gsm else (UCS2_SEGMENT, UCS2_PART)
    return 1 if units <= single else -(-units // part)


def sms_fits_one_segment(text: str) -> bool:
    """True when ``text`` goes out as a single, unconcatenated SMS."""
    return sms_segments(text) == 1


def _fits(text: str, segments: int) -> bool:
    return sms_segments(text) <= segments


def _clip(text: str, fixed: str, compose: Callable[[str], str], segments: int) -> str:
    """Longest prefix of ``text`` (whole graphemes) such that ``compose`` stays in ``segments``."""
    whole = compose(text)
    if _fits(whole, segments):
        return whole
    clusters = _GRAPHEME.findall(text)
    lo, hi = 0, len(clusters)
    best = compose("")
    while lo <= hi:  # binary search: the units count is monotone in the prefix length
        mid = (lo + hi) // 2
        cand = compose("".join(clusters[:mid]).rstrip() + fixed)
        if _fits(cand, segments):
            best, lo = cand, mid + 1
        else:
            hi = mid - 1
    return best


def sms_text(
    *,
    lang: str,
    severity: int,
    leader: str,
    excerpt: str,
    link: str,
    escalation: bool = False,
    terms: Sequence[str] = (),
    segments: int = SMS_SEGMENTS,
) -> str:
    """SMS in ``lang`` within ``segments``: severity, who, matched words, what was said, link.

    The sender id already names the app, so the text spends no characters on it; the link is
    never clipped (without it the SMS cannot be acted on), the excerpt is.
    """
    _, reply, *_ = _PHRASES.get(lang, _PHRASES["en"])
    said = f"{leader}: {excerpt}" if leader.strip() else excerpt
    if terms:
        said = f"[{', '.join(terms[:3])}] {said}"
    body = _SPACE.sub(" ", said.translate(_ASCII_FOLD)).strip()
    head = f"S{severity}" + ("!!" if escalation else "!" * (severity >= 4))

    def compose(b: str) -> str:
        return " ".join(part for part in (head, b, reply, link) if part)

    # "..." stays GSM-7; a Unicode ellipsis would force UCS-2 on a Latin text.
    ellipsis = "..." if sms_encoding(compose(body)) == "GSM-7" else "…"
    text = _clip(body, ellipsis, compose, segments)
    if not _fits(text, segments):  # the link alone is too long: drop the body
        text = f"{head} {link}".strip()
    return text


# ---- notices and payloads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    """Stage settings every notice needs: where the pages are, India's DLT ids for SMS.

    ``public_base_url`` empty: notices carry no link at all rather than a made-up one.
    """

    public_base_url: str = ""
    sms_entity_id: str = ""
    sms_template_id: str = ""

    def task_url(self, task_id: str) -> str:
        """The task page's absolute URL (empty when no base URL is configured)."""
        return task_page_url(self.public_base_url, task_id) if task_id else ""

    def incident_url(self, incident_key: str) -> str:
        """The incident link, resolved by the page to the reader's own task (empty: no base)."""
        return incident_page_url(self.public_base_url, incident_key) if incident_key else ""

    @property
    def sms_ready(self) -> bool:
        """Whether an SMS may be published: India refuses A2P SMS without DLT ids."""
        return bool(self.sms_entity_id and self.sms_template_id)


OFFLINE = Outbound()  # no pages configured, no SMS: what tests and the bench use by default


def short_ref(incident_key: str) -> str:
    """A short, stable, URL-safe reference to an incident (batch entry ids, push collapse keys)."""
    return hashlib.sha256(incident_key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Notice:
    """One message to some teams (or one escalation level) of one state at one version."""

    state: str
    incident_key: str
    version: int
    severity: int
    lang: str  # the delivery language: the notice's own words, and the filter attribute
    team_ids: tuple[str, ...]
    districts: tuple[str, ...] = ()
    kind: str = "task"  # task | update | digest | escalation
    leader_name: str = ""
    category: str = ""
    excerpt: str = ""
    url: str = ""  # the post on its platform
    task_id: str = ""  # only when the notice is for exactly one team's task
    post_lang: str = ""  # the language the post is written in
    terms: tuple[str, ...] = ()  # the words of the keyword queries that matched
    page_url: str = ""  # incident link or task page; empty without a public base URL
    extra: Mapping[str, str] = field(default_factory=dict)


def _data(n: Notice) -> dict[str, str]:
    data = {
        "type": n.kind,
        "incident": n.incident_key,
        "v": str(n.version),
        "severity": str(n.severity),
        "lang": n.lang,
        "post_lang": n.post_lang,
        "terms": ", ".join(n.terms),
        "state": n.state,
        "leader": n.leader_name,
        "category": n.category,
        "excerpt": n.excerpt,
        "url": n.url,
    }
    if n.page_url:
        data["page_url"] = n.page_url
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


def _title(n: Notice) -> str:
    app = _PHRASES.get(n.lang, _PHRASES["en"])[0]
    what = {"escalation": "ESCALATION", "digest": "Digest", "update": "Update"}.get(n.kind, "")
    return " ".join(x for x in (app, f"S{n.severity}", what, n.leader_name) if x)


def _body(n: Notice, data: Mapping[str, str]) -> str:
    """What the notification shows: the matched words first, then the post (clipped)."""
    excerpt = _SPACE.sub(" ", data.get("excerpt", "")).strip()
    head = f"[{data['terms']}] " if data.get("terms") else ""
    return (head + excerpt)[:PUSH_BODY_MAX]


def _actions(n: Notice) -> list[dict[str, str]]:
    _, _, ack, open_ = _PHRASES.get(n.lang, _PHRASES["en"])
    return [{"action": "ack", "title": ack}, {"action": "open", "title": open_}]


def gcm_payload(n: Notice) -> str:
    """FCM v1 message: shown by Android and by a browser with the page installed, no app needed.

    ``notification`` is what Android shows; ``webpush`` what a browser's service worker shows,
    with the acknowledge/open actions and a click that opens the task page; ``data`` carries
    the same keys for code that renders or dedupes itself (task id + version).
    """

    def build(data: dict[str, str]) -> dict[str, Any]:
        title, body = _title(n), _body(n, data)
        tag = n.task_id or short_ref(n.incident_key)
        webpush: dict[str, Any] = {
            "headers": {"Urgency": "high" if n.severity >= 4 else "normal", "TTL": "86400"},
            "notification": {
                "title": title,
                "body": body,
                "lang": n.lang,
                "dir": "rtl" if n.lang in _RTL else "auto",
                "tag": tag,
                "renotify": n.kind == "escalation",
                "requireInteraction": n.severity >= 4,
                "actions": _actions(n),
                "data": {k: data[k] for k in ("task_id", "v", "page_url") if k in data},
            },
        }
        if data.get("page_url", "").startswith("https://"):
            webpush["fcm_options"] = {"link": data["page_url"]}  # FCM accepts HTTPS links only
        return {
            "fcmV1Message": {
                "message": {
                    "notification": {"title": title, "body": body},
                    "data": data,
                    "android": {
                        "priority": "high" if n.severity >= 4 else "normal",
                        "collapse_key": short_ref(n.incident_key),
                        "ttl": "86400s",
                        "notification": {"tag": tag},
                    },
                    "webpush": webpush,
                }
            }
        }

    return _fit_push(build, _data(n))


def apns_payload(n: Notice) -> str:
    """APNs alert with the same data keys; severity 4+ is time-sensitive."""

    def build(data: dict[str, str]) -> dict[str, Any]:
        return {
            "aps": {
                "alert": {"title": _title(n), "body": _body(n, data)},
                "sound": "default",
                "thread-id": short_ref(n.incident_key),
                "category": "TVARIT_TASK",  # the app's acknowledge/open actions
                "interruption-level": "time-sensitive" if n.severity >= 4 else "active",
                "mutable-content": 1,
            },
            **{k: v for k, v in data.items() if k != "excerpt"},
        }

    return _fit_push(build, _data(n))


def _ascii(text: str) -> str:
    return "".join(c for c in text if " " <= c <= "~")


def email_subject(n: Notice) -> str:
    """The e-mail subject of a notice (see :func:`email_subject_from_data`)."""
    return email_subject_from_data(_data(n))


def email_subject_from_data(data: Mapping[str, str]) -> str:
    """One ASCII line under 100 characters: older SNS docs allow only ASCII subjects.

    The leader's name is kept only when it is ASCII; the body carries it in any script. No
    version: the first notice a warrior sees is simply the task.
    """
    kind, leader_name = data.get("type", "task"), data.get("leader", "")
    what = {"escalation": "ESCALATION", "digest": "Digest", "update": "Update"}.get(kind, "")
    leader = _ascii(leader_name) if leader_name.isascii() else ""
    head = " ".join(x for x in ("Tvarit", f"S{data.get('severity', '')}", what, leader) if x)
    ref = f"[{short_ref(data.get('incident', ''))}]"
    category = _ascii(data.get("category", "")).strip() or "mention"
    subject = _SPACE.sub(" ", f"{head}: {category}").strip()
    room = EMAIL_SUBJECT_MAX - len(ref) - 1
    if len(subject) > room:
        subject = subject[: room - 3].rstrip() + "..."
    return f"{subject} {ref}"


def sms_from_data(data: Mapping[str, str]) -> str:
    """The SMS of a rendered notice, from its ``default`` payload (the local phone uses it too)."""
    return sms_text(
        lang=data.get("lang", "en"),
        severity=int(data.get("severity", "3")),
        leader=data.get("leader", ""),
        excerpt=data.get("excerpt", ""),
        link=data.get("page_url", ""),
        escalation=data.get("type") == "escalation",
        terms=[t for t in data.get("terms", "").split(", ") if t],
    )


def email_from_data(data: Mapping[str, str]) -> str:
    """Plain-text e-mail in the notice's language (Hindi first for Hindi readers), English after.

    The link to the task page comes first: it is what the reader acts on.
    """
    lang = data.get("lang", "en")
    labels = _EMAIL_LABELS.get(lang, _EMAIL_LABELS["en"])
    english = _EMAIL_LABELS["en"]

    def line(key: str, value: str) -> str:
        if lang == "en" or labels is english:
            return f"{english[key]}: {value}"
        return f"{labels[key]} / {english[key]}: {value}"

    lines = [
        f"{data.get('leader') or 'A watched leader'} "
        f"({data.get('category') or 'mention'}, S{data.get('severity', '')})",
        "",
    ]
    if data.get("page_url"):
        lines += [line("open", data["page_url"]), ""]
    lines += [data.get("excerpt", ""), ""]
    if data.get("terms"):
        lines.append(line("terms", data["terms"]))
    if data.get("post_lang"):
        lines.append(line("post_lang", data["post_lang"]))
    if data.get("url"):
        lines.append(line("post", data["url"]))
    lines += [
        "",
        f"incident {data.get('incident', '')}"
        + (f" · task {data['task_id']}" if data.get("task_id") else ""),
    ]
    return "\n".join(lines)


def email_body(n: Notice) -> str:
    """Plain-text e-mail of a notice."""
    return email_from_data(_data(n))


def render_message(n: Notice) -> dict[str, str]:
    """The ``Message`` object for ``MessageStructure=json``: one text per protocol."""
    data = _data(n)
    apns = apns_payload(n)
    return {
        "default": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        "GCM": gcm_payload(n),
        "APNS": apns,
        "APNS_SANDBOX": apns,
        "sms": sms_from_data(data),
        "email": email_from_data(data),
    }


def message_attributes(n: Notice, outbound: Outbound = Outbound()) -> dict[str, dict[str, str]]:
    """SNS message attributes matched by subscription filter policies (boto3 shape).

    With SMS configured, India's DLT entity and template ids ride on every publish (SNS reads
    them for the SMS deliveries and ignores them elsewhere); without them no SMS is sent.
    """
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
    if outbound.sms_ready:
        attrs["AWS.MM.SMS.EntityId"] = {"DataType": "String", "StringValue": outbound.sms_entity_id}
        attrs["AWS.MM.SMS.TemplateId"] = {
            "DataType": "String",
            "StringValue": outbound.sms_template_id,
        }
        attrs["AWS.SNS.SMS.SMSType"] = {"DataType": "String", "StringValue": "Transactional"}
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


def build_entry(n: Notice, outbound: Outbound = Outbound()) -> Entry:
    """Render one notice into one publishable entry, sized as SNS counts it."""
    message = json.dumps(render_message(n), ensure_ascii=False, separators=(",", ":"))
    subject = email_subject(n)
    attrs = message_attributes(n, outbound)
    # Derived from content only, so a repeat publish of the same tasks is byte-identical.
    audience = hashlib.sha256("\x1f".join(n.team_ids).encode()).hexdigest()[:8]
    ident = f"{short_ref(n.incident_key)}-v{n.version}-{n.kind}-{n.lang}-{audience}"[:80]
    return Entry(ident, message, subject, attrs, _entry_size(message, subject, attrs), n)


def pack(entries: Iterable[Entry], limit: int = SNS_MESSAGE_LIMIT) -> list[Publish]:
    """Pack entries into as few calls as possible: same topic, <= 10 entries, <= 256 KB each."""
    by_state: dict[str, list[Entry]] = {}
    for e in entries:
        by_state.setdefault(e.notice.state, []).append(e)
    calls: list[Publish] = []
    for state, items in by_state.items():
        bins: list[list[Entry]] = []
        sizes: list[int] = []
        open_bins: list[int] = []  # bins with room for another entry: full ones are never rescanned
        # first-fit decreasing keeps the call count near the minimum for our few sizes
        for e in sorted(items, key=lambda x: -x.size):
            for k, i in enumerate(open_bins):
                if sizes[i] + e.size <= limit:
                    bins[i].append(e)
                    sizes[i] += e.size
                    if len(bins[i]) == BATCH_MAX_ENTRIES:
                        del open_bins[k]
                    break
            else:
                bins.append([e])
                sizes.append(e.size)
                if BATCH_MAX_ENTRIES > 1:
                    open_bins.append(len(bins) - 1)
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
    tasks: Iterable[Task],
    outbound: Outbound = Outbound(),
    kind: str = "task",
    directory: TeamDirectory | None = None,
) -> list[Notice]:
    """Group tasks by (state, incident, version) and render one notice per delivery language.

    One notice serves every team of the group, so its link is the incident link (each reader
    lands on their own task); a group of one team links its task page directly. ``kind`` is
    the caller's: ``task`` for a first dispatch, ``update`` when open tasks changed.
    """
    groups: dict[tuple[str, str, int], list[Task]] = {}
    for t in tasks:
        groups.setdefault((t.state, t.incident_key, notice_version(t)), []).append(t)
    notices: list[Notice] = []
    # Sorted throughout: the same tasks in any order give the same messages.
    for (state, incident_key, version), group in sorted(groups.items()):
        group.sort(key=lambda t: t.team_id)
        head = group[0]
        team_ids = tuple(dict.fromkeys(t.team_id for t in group))
        tokens = team_tokens(state, team_ids, directory)
        one = len(team_ids) == 1
        page_url = outbound.task_url(head.task_id) if one else outbound.incident_url(incident_key)
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
                    task_id=head.task_id if one else "",
                    post_lang=head.lang,
                    terms=head.terms,
                    page_url=page_url,
                )
            )
    return notices


def digest_notices(
    team_id: str, state: str, tasks: Sequence[Task], outbound: Outbound = Outbound()
) -> list[Notice]:
    """One digest for one team: the tasks held back by rate limits or quiet hours, in one notice.

    Keyed by the held task ids, so a repeated flush of the same digest is the same message. It
    links the page of its most urgent task (the first listed).
    """
    held = sorted(tasks, key=lambda t: (-t.severity, t.created_at, t.task_id))
    if not held:
        return []
    key = "dg_" + hashlib.sha256("\x1f".join(t.task_id for t in held).encode()).hexdigest()[:20]
    lines = [f"{t.leader_name or '?'}: {_SPACE.sub(' ', t.excerpt)[:80]}" for t in held]
    top = held[0]
    return [
        Notice(
            state=state,
            incident_key=key,
            version=1,
            severity=top.severity,
            lang=lang,
            team_ids=(team_id,),
            kind="digest",
            leader_name=f"{len(held)} x" if len(held) > 1 else top.leader_name,
            category=top.category if len(held) == 1 else "digest",
            excerpt=" | ".join(lines),
            url=top.url,
            post_lang=top.lang,
            terms=tuple(dict.fromkeys(term for t in held for term in t.terms))[:5],
            page_url=outbound.task_url(top.task_id),
            # 100 ids (~2.7 KB) keep the push payload under 4 KB; "held" tells the app if more
            extra={"task_ids": ",".join(t.task_id for t in held[:100]), "held": str(len(held))},
        )
        for lang in delivery_languages(state)
    ]


def _entries_for(n: Notice, outbound: Outbound, limit: int) -> list[Entry]:
    entry = build_entry(n, outbound)
    if entry.size <= limit or len(n.team_ids) <= 1:
        return [entry]
    half = len(n.team_ids) // 2  # too many team ids for one message: split the audience
    return _entries_for(replace(n, team_ids=n.team_ids[:half]), outbound, limit) + _entries_for(
        replace(n, team_ids=n.team_ids[half:]), outbound, limit
    )


def plan_notices(
    notices: Iterable[Notice], outbound: Outbound = Outbound(), limit: int = SNS_MESSAGE_LIMIT
) -> list[Publish]:
    """Render notices and pack them into the fewest SNS calls."""
    return pack([e for n in notices for e in _entries_for(n, outbound, limit)], limit)


def plan_publishes(
    tasks: Iterable[Task],
    outbound: Outbound = Outbound(),
    limit: int = SNS_MESSAGE_LIMIT,
    kind: str = "task",
    directory: TeamDirectory | None = None,
) -> list[Publish]:
    """The SNS calls that deliver ``tasks``: one entry per (state topic, incident, version,
    language), split only when its audience outgrows the size limit."""
    return plan_notices(notices_for_tasks(tasks, outbound, kind, directory), outbound, limit)
