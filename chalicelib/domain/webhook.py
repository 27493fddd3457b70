"""Signed generic webhook: HMAC-SHA256 over ``"{timestamp}.{body}"`` (Stripe-style).

Headers: ``X-Tvarit-Timestamp`` (Unix seconds) and ``X-Tvarit-Signature: sha256=<hex>``.
The timestamp must be within ``tolerance`` of now, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.domain.mention import PLATFORMS, Author, Mention, parse_timestamp
from chalicelib.errors import AuthenticationError, FieldProblem, InvalidInputError

TIMESTAMP_HEADER = "x-tvarit-timestamp"
SIGNATURE_HEADER = "x-tvarit-signature"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`AuthenticationError` unless the request is signed and fresh."""
    if not secret:
        raise AuthenticationError("webhook secret is not configured; refusing all requests")
    if not timestamp_header:
        raise _missing(TIMESTAMP_HEADER)
    if not signature_header:
        raise _missing(SIGNATURE_HEADER)
    try:
        timestamp = int(timestamp_header.strip())
    except ValueError:
        raise AuthenticationError(
            "timestamp header is not an integer",
            [FieldProblem(f"header:{TIMESTAMP_HEADER}", "expected Unix seconds")],
        ) from None
    if abs(now - timestamp) > tolerance:
        raise AuthenticationError(
            f"timestamp is more than {tolerance} seconds from the server's clock",
            [FieldProblem(f"header:{TIMESTAMP_HEADER}", "stale or future timestamp")],
        )
    expected = sign(secret, timestamp, body)
    # Constant-time compare over bytes; any scheme other than sha256= simply fails.
    if not hmac.compare_digest(expected.encode(), signature_header.strip().encode()):
        raise AuthenticationError(
            "signature does not match the body",
            [FieldProblem(f"header:{SIGNATURE_HEADER}", "HMAC-SHA256 mismatch")],
        )


def _missing(header: str) -> AuthenticationError:
    return AuthenticationError(
        f"missing {header} header", [FieldProblem(f"header:{header}", "required")]
    )


MAX_POSTS_PER_REQUEST = 100
MAX_TEXT_CHARS = 25_000


def parse_posts(body: object) -> list[Mention]:
    """Validate a webhook body (one post, or ``{"posts": [...]}``) into mentions.

    Every problem is reported with its location, all at once, so a caller can fix a batch in one go.
    """
    if isinstance(body, dict) and "posts" in body:
        posts, prefix = body["posts"], "posts"
        if not isinstance(posts, list):
            raise InvalidInputError(
                "posts must be a list", [FieldProblem("posts", "expected a list")]
            )
    elif isinstance(body, dict):
        posts, prefix = [body], ""
    else:
        raise InvalidInputError(
            "body must be a JSON object", [FieldProblem("", "expected an object")]
        )
    if not posts:
        raise InvalidInputError("no posts", [FieldProblem(prefix, "at least one post is required")])
    if len(posts) > MAX_POSTS_PER_REQUEST:
        raise InvalidInputError(
            f"at most {MAX_POSTS_PER_REQUEST} posts per request",
            [FieldProblem(prefix, f"{len(posts)} posts")],
        )
    problems: list[FieldProblem] = []
    mentions: list[Mention] = []
    for i, post in enumerate(posts):
        where = f"{prefix}[{i}]" if prefix else ""
        mention = _parse_post(post, where, problems)
        if mention is not None:
            mentions.append(mention)
    if problems:
        raise InvalidInputError(f"{len(problems)} invalid field(s) in the posts", problems)
    return mentions


def _loc(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _parse_post(post: object, where: str, problems: list[FieldProblem]) -> Mention | None:
    if not isinstance(post, dict):
        problems.append(FieldProblem(where, "expected an object"))
        return None
    start = len(problems)

    def text_field(name: str, required: bool = True, limit: int = 2_000) -> str:
        value = post.get(name)
        if value is None or value == "":
            if required:
                problems.append(FieldProblem(_loc(where, name), "required"))
            return ""
        if not isinstance(value, str):
            problems.append(FieldProblem(_loc(where, name), "expected a string"))
            return ""
        if len(value) > limit:
            problems.append(FieldProblem(_loc(where, name), f"longer than {limit} characters"))
        return value

    platform = text_field("platform")
    if platform and platform not in PLATFORMS:
        problems.append(
            FieldProblem(_loc(where, "platform"), f"one of {', '.join(sorted(PLATFORMS))}")
        )
    native_id = post.get("id")
    if isinstance(native_id, bool) or not isinstance(native_id, str | int):
        # A float id has already lost digits (X ids do not fit a double): refuse it.
        problems.append(FieldProblem(_loc(where, "id"), "expected a string"))
        native_id = ""
    text = text_field("text", limit=MAX_TEXT_CHARS)
    url = text_field("url", required=False)
    created_raw = text_field("created_at")
    created_at = None
    if created_raw:
        try:
            created_at = parse_timestamp(created_raw)
        except ValueError:
            problems.append(FieldProblem(_loc(where, "created_at"), "expected ISO-8601 time"))
    author = post.get("author")
    handle = author_id = name = ""
    followers: int | None = None
    if not isinstance(author, dict):
        problems.append(FieldProblem(_loc(where, "author"), "expected an object with a handle"))
    else:
        raw_handle = author.get("handle")
        handle = raw_handle if isinstance(raw_handle, str) else ""
        if not handle:
            problems.append(FieldProblem(_loc(where, "author.handle"), "required"))
        author_id = str(author.get("id") or handle)
        raw_name = author.get("name")
        name = raw_name if isinstance(raw_name, str) else ""
        raw_followers = author.get("followers")
        if raw_followers is not None:
            if isinstance(raw_followers, int) and not isinstance(raw_followers, bool):
                followers = raw_followers
            else:
                problems.append(
                    FieldProblem(_loc(where, "author.followers"), "expected an integer")
                )
    lang_hint = post.get("lang") if isinstance(post.get("lang"), str) else None
    if len(problems) > start or created_at is None:
        return None
    return Mention(
        platform=platform,
        native_id=str(native_id),
        author=Author(id=author_id, handle=handle, name=name, followers=followers),
        created_at=created_at,
        text=text,
        url=url,
        lang_hint=lang_hint,
    )
