"""A local fake of the Telegram Bot API for the bot as a delivery channel (issue 13).

Real paths and shapes: ``POST /bot<token>/sendMessage``, ``/editMessageText``,
``/answerCallbackQuery`` (JSON or form bodies) answer ``{"ok": true, "result": ...}`` with a
Message object (or ``true``); a wrong token gets ``401 {"ok": false, "error_code": 401,
"description": "Unauthorized"}``; :meth:`FakeTelegram.throttle` makes the next calls answer
``429`` with ``parameters.retry_after``, as Telegram does. Every call is recorded (the chat's
messages as they stand after edits, the answers to taps). :meth:`FakeTelegram.tap` and
:meth:`FakeTelegram.say` play a user: they post a webhook Update (``callback_query`` or
``message``) to the app with the secret token header Telegram would send.

Run it alone with ``python -m local.fake_telegram --port 8766``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_TOKEN = "424242:fake-bot-token"  # noqa: S105 (a fake credential for the fake server)
BOT_USERNAME = "tvarit_demo_bot"
BOT_ID = 424242
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


@dataclass
class Call:
    """One Bot API call as received."""

    method: str
    params: dict[str, Any]
    status: int
    at: float


@dataclass
class ChatMessage:
    """A message the bot has in a chat, as it stands now (edits replace its text)."""

    chat_id: str
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    edits: int = 0


@dataclass
class FakeTelegram:
    token: str = BOT_TOKEN
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, int], ChatMessage] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # callback id -> text
    webhook_url: str = ""
    webhook_secret: str = ""
    _throttle: list[int] = field(default_factory=list)  # retry_after of the next 429s
    _next_message_id: int = 100
    _next_update_id: int = 9_000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeTelegram:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what tests and the demo use ----------------------------------------------------------

    def throttle(self, retry_after: int, times: int = 1) -> None:
        """The next ``times`` calls answer 429 with ``retry_after`` seconds."""
        with self._lock:
            self._throttle.extend([retry_after] * times)

    def chat(self, chat_id: str) -> list[ChatMessage]:
        """The bot's messages in a chat, oldest first."""
        with self._lock:
            return sorted(
                (m for m in self.messages.values() if m.chat_id == str(chat_id)),
                key=lambda m: m.message_id,
            )

    def methods(self) -> list[str]:
        """The methods called, in order."""
        with self._lock:
            return [c.method for c in self.calls]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        """Poll until ``predicate(self)`` holds (the app works asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.1)
        return bool(predicate(self))

    def set_webhook(self, url: str, secret: str) -> None:
        """Where updates go (the app's ``POST /ingest/telegram``), as ``setWebhook`` says."""
        self.webhook_url, self.webhook_secret = url, secret

    def callback_update(
        self,
        chat_id: str,
        message_id: int,
        data: str,
        user_id: int,
        first_name: str = "Warrior",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The ``callback_query`` update Telegram sends when a user taps an inline button."""
        with self._lock:
            message = self.messages.get((str(chat_id), message_id))
        uid = update_id if update_id is not None else self._update_id()
        return {
            "update_id": uid,
            "callback_query": {
                "id": f"cb{uid}",
                "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                "chat_instance": "-1",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": int(chat_id), "type": "supergroup", "title": "Team"},
                    "from": {"id": BOT_ID, "is_bot": True, "username": BOT_USERNAME},
                    "text": message.text if message else "",
                },
            },
        }

    def tap(
        self,
        chat_id: str,
        message_id: int,
        data: str,
        user_id: int,
        first_name: str = "Warrior",
        update_id: int | None = None,
    ) -> tuple[int, dict[str, Any], str]:
        """A user taps an inline button: the update goes to the webhook.

        Returns the webhook's status, its answer, and the callback id (to read the answer
        the bot gave with ``answerCallbackQuery``).
        """
        update = self.callback_update(chat_id, message_id, data, user_id, first_name, update_id)
        status, body = self.post_update(update)
        return status, body, str(update["callback_query"]["id"])

    def message_update(
        self,
        chat_id: str,
        text: str,
        user_id: int,
        chat_type: str = "supergroup",
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """The ``message`` update of a user writing in a chat (maybe replying to the bot)."""
        message: dict[str, Any] = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": chat_type},
            "from": {"id": user_id, "is_bot": False, "first_name": "User"},
            "text": text,
        }
        if reply_to is not None:
            with self._lock:
                replied = self.messages.get((str(chat_id), reply_to))
            message["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": chat_type},
                "from": {"id": BOT_ID, "is_bot": True, "username": BOT_USERNAME},
                "text": replied.text if replied else "",
            }
        return {"update_id": self._update_id(), "message": message}

    def say(
        self,
        chat_id: str,
        text: str,
        user_id: int,
        chat_type: str = "supergroup",
        reply_to: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """A user writes in a chat (``/start <token>``, or a reply to the bot's question)."""
        return self.post_update(self.message_update(chat_id, text, user_id, chat_type, reply_to))

    def post_update(self, update: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Deliver an update to the webhook as Telegram does (secret token header)."""
        request = urllib.request.Request(  # noqa: S310 (a local http URL)
            self.webhook_url,
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", SECRET_HEADER: self.webhook_secret},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            with err:
                return err.code, json.loads(err.read() or b"{}")

    # ---- the server ---------------------------------------------------------------------------

    def _update_id(self) -> int:
        with self._lock:
            self._next_update_id += 1
            return self._next_update_id

    def _message_id(self) -> int:
        with self._lock:
            self._next_message_id += 1
            return self._next_message_id

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._serve(self)

            def do_GET(self) -> None:
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: tests and the demo print what matters

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        params = _params(raw, handler.headers.get("Content-Type", ""))
        token, _, method = path.removeprefix("/bot").partition("/")
        status, doc = self._answer(token, method, params)
        with self._lock:
            self.calls.append(Call(method, params, status, time.time()))
        body = json.dumps(doc).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _answer(self, token: str, method: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._lock:
            if self._throttle:
                wait = self._throttle.pop(0)
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                }
        if method == "sendMessage":
            return self._send(p)
        if method == "editMessageText":
            return self._edit(p)
        if method == "answerCallbackQuery":
            if not p.get("callback_query_id"):
                return _bad("Bad Request: query is too old and response timeout expired")
            with self._lock:
                self.answers[str(p["callback_query_id"])] = str(p.get("text", ""))
            return 200, {"ok": True, "result": True}
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": BOT_ID, "is_bot": True, "username": BOT_USERNAME},
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _send(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text, chat_id = str(p.get("text", "")), str(p.get("chat_id", ""))
        if not chat_id:
            return _bad("Bad Request: chat_id is empty")
        if not text.strip():
            return _bad("Bad Request: message text is empty")
        problem = _check_markup(p.get("reply_markup"))
        if problem:
            return _bad(problem)
        message_id = self._message_id()
        markup = p.get("reply_markup") if isinstance(p.get("reply_markup"), dict) else None
        with self._lock:
            self.messages[(chat_id, message_id)] = ChatMessage(chat_id, message_id, text, markup)
        return 200, {"ok": True, "result": _message(chat_id, message_id, text, markup)}

    def _edit(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = str(p.get("chat_id", ""))
        try:
            message_id = int(p.get("message_id", 0))
        except (TypeError, ValueError):
            message_id = 0
        problem = _check_markup(p.get("reply_markup"))
        if problem:
            return _bad(problem)
        with self._lock:
            current = self.messages.get((chat_id, message_id))
            if current is None:
                return _bad("Bad Request: message to edit not found")
            text = str(p.get("text", ""))
            markup = p.get("reply_markup") if isinstance(p.get("reply_markup"), dict) else None
            if text == current.text and markup == current.reply_markup:
                return _bad(
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message"
                )
            current.text, current.reply_markup = text, markup
            current.edits += 1
        return 200, {"ok": True, "result": _message(chat_id, message_id, text, markup)}


def _bad(description: str) -> tuple[int, dict[str, Any]]:
    return 400, {"ok": False, "error_code": 400, "description": description}


def _check_markup(markup: Any) -> str:
    """Telegram's own checks on inline keyboards that our messages could break."""
    if not isinstance(markup, dict):
        return ""
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data", "")
            if len(str(data).encode()) > 64:
                return "Bad Request: BUTTON_DATA_INVALID"
    return ""


def _params(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        doc = json.loads(raw)
        return doc if isinstance(doc, dict) else {}
    form = urllib.parse.parse_qs(raw.decode())
    out: dict[str, Any] = {k: v[0] for k, v in form.items()}
    if isinstance(out.get("reply_markup"), str):
        out["reply_markup"] = json.loads(out["reply_markup"])
    return out


def _message(
    chat_id: str, message_id: int, text: str, markup: dict[str, Any] | None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tvarit", "username": BOT_USERNAME},
        "chat": {"id": int(chat_id), "type": "supergroup"},
        "date": int(time.time()),
        "text": text,
    }
    if markup:
        message["reply_markup"] = markup
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    fake = FakeTelegram(port=args.port).start()
    print(f"fake Telegram Bot API on {fake.url} (token {BOT_TOKEN})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
