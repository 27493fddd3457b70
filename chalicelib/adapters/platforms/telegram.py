"""Telegram: Bot API updates (webhook or getUpdates) and Telegram Desktop JSON exports.

A bot sees a channel's posts only as that channel's admin. The native id is
``<peer id>:<message id>`` (message ids are per chat); the peer id is the chat id without the
``-100`` prefix the Bot API adds to channels, which is the number a Desktop export shows after
``channel``, so both sources give the same key for the same post.
Entity offsets are in UTF-16 code units, as the Bot API counts them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from chalicelib.adapters.platforms._common import (
    Json,
    as_count,
    as_dict,
    as_id,
    as_list,
    decode_text,
    epoch_time,
    fail,
    find_hashtags,
    find_mentions,
    find_urls,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req,
    req_id,
)
from chalicelib.adapters.platforms.http import HttpTransport, check_status, with_query
from chalicelib.domain.mention import Author, Mention, Reference
from chalicelib.errors import AuthenticationError, FieldProblem, ParseError
from chalicelib.services.polling import FetchResult
from chalicelib.services.push import PushContext, PushRequest, PushResult, check_size, enqueue

PLATFORM = "telegram"
API_BASE = "https://api.telegram.org"
_POST_KEYS = ("channel_post", "edited_channel_post", "message", "edited_message")


SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 (a header name)


def verify_webhook_secret(expected: str, header_value: str | None) -> None:
    """Check the secret token Telegram echoes on every webhook call (set with setWebhook)."""
    if not expected:
        raise AuthenticationError("Telegram webhook secret is not configured; refusing all updates")
    if not header_value or not hmac.compare_digest(expected.encode(), header_value.encode()):
        raise AuthenticationError(
            "Telegram secret token does not match",
            [FieldProblem(f"header:{SECRET_HEADER}", "missing or wrong")],
        )


def peer_id(chat_id: str) -> str:
    """The chat's peer id: the Bot API's ``-100<n>`` channel/supergroup ids become ``<n>``."""
    return chat_id[4:] if chat_id.startswith("-100") else chat_id


def parse_telegram(raw: bytes | str) -> list[Mention]:
    """Mentions in a getUpdates response, one webhook Update, or a Desktop export."""
    doc = load_json(decode_text(raw, "telegram"), "telegram")
    if isinstance(doc, list):
        if doc and isinstance(doc[0], dict) and "update_id" in doc[0]:
            return parse_updates(doc, "")
        return parse_export_messages(doc, "", "")
    obj = as_dict(doc, "/")
    if obj.get("ok") is False:
        raise fail("/ok", f"the Bot API refused: {opt_str(obj, 'description', '')}")
    if "result" in obj:
        return parse_updates(as_list(obj["result"], "/result"), "/result")
    if "update_id" in obj:
        return parse_updates([obj], "")
    if "messages" in obj:
        chat = as_id(obj["id"], "/id") if obj.get("id") is not None else ""
        return parse_export_messages(as_list(obj["messages"], "/messages"), "/messages", chat)
    raise fail("/", "not a Telegram payload: expected result, update_id or messages")


def parse_updates(updates: list[Json], loc: str) -> list[Mention]:
    """Posts in a list of Bot API Update objects (other update kinds are ignored)."""
    out: list[Mention] = []
    for i, raw in enumerate(updates):
        uloc = f"{loc}/{i}"
        update = as_dict(raw, uloc)
        for key in _POST_KEYS:
            if update.get(key) is not None:
                out.append(_bot_message(as_dict(update[key], f"{uloc}/{key}"), f"{uloc}/{key}"))
                break
    return out


def _bot_message(msg: Mapping[str, Json], loc: str) -> Mention:
    chat = as_dict(req(msg, "chat", loc), f"{loc}/chat")
    cloc = f"{loc}/chat"
    chat_id = req_id(chat, "id", cloc)
    message_id = req_id(msg, "message_id", loc)
    if chat.get("type") == "channel" or msg.get("from") is None:
        sender = opt_dict(msg, "sender_chat", loc) or chat
        author = Author(
            id=peer_id(req_id(sender, "id", f"{loc}/sender_chat")),
            handle=opt_str(sender, "username", f"{loc}/sender_chat"),
            name=opt_str(sender, "title", f"{loc}/sender_chat"),
        )
    else:
        user = as_dict(msg["from"], f"{loc}/from")
        full = " ".join(
            p for p in (opt_str(user, "first_name", loc), opt_str(user, "last_name", loc)) if p
        )
        author = Author(
            id=req_id(user, "id", f"{loc}/from"),
            handle=opt_str(user, "username", f"{loc}/from"),
            name=full,
        )
    text = opt_str(msg, "text", loc) or opt_str(msg, "caption", loc)
    entities = opt_list(msg, "entities", loc) or opt_list(msg, "caption_entities", loc)
    urls, tags, mentions = _bot_entities(text, entities, loc)
    refs: list[Reference] = []
    reply = opt_dict(msg, "reply_to_message", loc)
    if reply.get("message_id") is not None:
        rchat = opt_dict(reply, "chat", f"{loc}/reply_to_message") or chat
        refs.append(
            Reference(
                "reply",
                f"{peer_id(as_id(rchat.get('id'), f'{loc}/reply_to_message/chat/id'))}:"
                f"{req_id(reply, 'message_id', f'{loc}/reply_to_message')}",
            )
        )
    forward = opt_dict(msg, "forward_origin", loc)
    fchat = opt_dict(forward, "chat", f"{loc}/forward_origin")
    if fchat.get("id") is not None and forward.get("message_id") is not None:
        refs.append(
            Reference(
                "repost",
                f"{peer_id(as_id(fchat['id'], loc))}:{as_id(forward['message_id'], loc)}",
            )
        )
    username = opt_str(chat, "username", cloc)
    metrics = {}
    if msg.get("views") is not None:
        metrics["views"] = as_count(msg["views"], f"{loc}/views")
    return Mention(
        platform=PLATFORM,
        native_id=f"{peer_id(chat_id)}:{message_id}",
        author=author,
        created_at=epoch_time(req(msg, "date", loc), f"{loc}/date"),
        text=text,
        url=f"https://t.me/{username}/{message_id}" if username else "",
        urls=urls,
        hashtags=tags,
        mentions=mentions,
        references=tuple(refs),
        metrics=metrics,
    )


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def _bot_entities(
    text: str, entities: list[Json], loc: str
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    urls: list[str] = []
    tags: list[str] = []
    mentions: list[str] = []
    units = len(text.encode("utf-16-le")) // 2
    for i, raw in enumerate(entities):
        eloc = f"{loc}/entities/{i}"
        ent = as_dict(raw, eloc)
        kind = opt_str(ent, "type", eloc)
        offset = as_count(req(ent, "offset", eloc), f"{eloc}/offset")
        length = as_count(req(ent, "length", eloc), f"{eloc}/length")
        if offset + length > units:
            raise fail(
                eloc, f"entity runs past the text ({offset}+{length} > {units} UTF-16 units)"
            )
        piece = _utf16_slice(text, offset, length)
        if kind == "url":
            urls.append(piece)
        elif kind == "text_link" and ent.get("url"):
            urls.append(str(ent["url"]))
        elif kind == "hashtag":
            tags.append(piece.lstrip("#"))
        elif kind == "mention":
            mentions.append(piece.lstrip("@"))
    return (
        tuple(dict.fromkeys(urls)) or find_urls(text),
        tuple(dict.fromkeys(tags)) or find_hashtags(text),
        tuple(dict.fromkeys(mentions)) or find_mentions(text),
    )


# --- Telegram Desktop export ---------------------------------------------------------------


def parse_export_messages(messages: list[Json], loc: str, chat_id: str) -> list[Mention]:
    """Messages of a Desktop export (``result.json``); service messages are skipped.

    ``date`` in an export is the exporting machine's local time, so ``date_unixtime`` (UTC
    epoch) is used whenever present.
    """
    out: list[Mention] = []
    for i, raw in enumerate(messages):
        mloc = f"{loc}/{i}"
        msg = as_dict(raw, mloc)
        if msg.get("type", "message") != "message":
            continue
        from_id = opt_str(msg, "from_id", mloc)
        peer = chat_id or _export_peer(from_id)
        if not peer:
            raise fail(f"{mloc}/from_id", "required to key a message (or export the whole chat)")
        message_id = req_id(msg, "id", mloc)
        if msg.get("date_unixtime") is not None:
            created = epoch_time(msg["date_unixtime"], f"{mloc}/date_unixtime")
        else:
            raise fail(f"{mloc}/date_unixtime", "required (date alone is local time, not UTC)")
        text, urls, tags, mentions = _export_text(msg, mloc)
        refs: list[Reference] = []
        if msg.get("reply_to_message_id") is not None:
            refs.append(Reference("reply", f"{peer}:{as_id(msg['reply_to_message_id'], mloc)}"))
        edits: tuple[str, ...] = ()
        if msg.get("edited_unixtime") is not None:
            edits = (f"edited:{as_id(msg['edited_unixtime'], f'{mloc}/edited_unixtime')}",)
        out.append(
            Mention(
                platform=PLATFORM,
                native_id=f"{peer}:{message_id}",
                author=Author(
                    id=_export_peer(from_id) or from_id,
                    handle="",
                    name=opt_str(msg, "from", mloc),
                ),
                created_at=created,
                text=text,
                urls=urls,
                hashtags=tags,
                mentions=mentions,
                references=tuple(refs),
                edit_ids=edits,
            )
        )
    return out


def _export_peer(from_id: str) -> str:
    for prefix in ("channel", "chat", "user"):
        if from_id.startswith(prefix) and from_id[len(prefix) :].isdigit():
            return from_id[len(prefix) :]
    return ""


def _export_text(
    msg: Mapping[str, Json], loc: str
) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    parts = msg.get("text_entities")
    if parts is None:
        raw = msg.get("text", "")
        parts = [raw] if isinstance(raw, str) else raw
    pieces: list[str] = []
    urls: list[str] = []
    tags: list[str] = []
    mentions: list[str] = []
    for i, part in enumerate(as_list(parts, f"{loc}/text")):
        if isinstance(part, str):
            pieces.append(part)
            continue
        p = as_dict(part, f"{loc}/text/{i}")
        piece = opt_str(p, "text", f"{loc}/text/{i}")
        pieces.append(piece)
        kind = opt_str(p, "type", f"{loc}/text/{i}")
        if kind == "link":
            urls.append(piece)
        elif kind == "text_link" and p.get("href"):
            urls.append(str(p["href"]))
        elif kind == "hashtag":
            tags.append(piece.lstrip("#"))
        elif kind == "mention":
            mentions.append(piece.lstrip("@"))
    text = "".join(pieces)
    return (
        text,
        tuple(dict.fromkeys(urls)),
        tuple(dict.fromkeys(tags)),
        tuple(dict.fromkeys(mentions)),
    )


# --- client -------------------------------------------------------------------------------


class TelegramBotClient:
    """``getUpdates`` long polling for a bot (used locally; production uses the webhook)."""

    platform = PLATFORM
    min_cost = 0

    def __init__(
        self,
        transport: HttpTransport,
        bot_token: str,
        base_url: str = API_BASE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._transport = transport
        self._token = bot_token
        self._base = base_url.rstrip("/")
        self._clock = clock or (lambda: 0.0)

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """Updates after ``cursor['offset']``; ``account_id`` is ignored (one bot, all chats)."""
        url = with_query(
            f"{self._base}/bot{self._token}/getUpdates",
            {
                "offset": cursor.get("offset"),
                "timeout": 0,
                "allowed_updates": '["channel_post","edited_channel_post","message"]',
            },
        )
        resp = self._transport.send("GET", url)
        check_status(resp, "telegram getUpdates", self._clock())
        doc = as_dict(load_json(resp.body, "telegram getUpdates"), "/")
        result = as_list(doc.get("result", []), "/result")
        ids = [
            int(req_id(as_dict(u, f"/result/{i}"), "update_id", f"/result/{i}"))
            for i, u in enumerate(result)
        ]
        new_cursor = dict(cursor)
        if ids:
            # Confirming an update is asking for offset = last id + 1.
            new_cursor["offset"] = str(max(ids) + 1)
        return FetchResult(mentions=parse_updates(result, "/result"), cursor=new_cursor, units=1)


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> TelegramBotClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return TelegramBotClient(
        transport, secrets["telegram_bot_token"], base_url=base_url, clock=clock
    )


# --- push (the descriptor's bot webhook) ----------------------------------------------------


def bot_update(req: PushRequest, ctx: PushContext) -> PushResult:
    """One bot Update: check the secret token, enqueue its post (if it carries one).

    An update we cannot parse is dropped with the reason, not refused: Telegram re-sends a
    refused update until it is accepted, holding back every update behind it.
    """
    check_size(req.body)
    verify_webhook_secret(ctx.secret("telegram_webhook_secret"), req.headers.get(SECRET_HEADER))
    # Button taps, /start links and a team's own chat are the delivery bot's (issue 13).
    try:
        update = load_json(req.body, "update")
    except ParseError:
        update = None  # parse_telegram below says why it is dropped
    if isinstance(update, dict) and ctx.bot_interaction(update):
        return PushResult(())
    try:
        mentions = parse_telegram(req.body)
    except ParseError as err:
        return PushResult((), ignored=err.detail)
    return enqueue(mentions, ctx.mention_queue)
