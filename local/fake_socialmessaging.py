"""A local HTTP server speaking AWS End User Messaging Social's SendWhatsAppMessage.

moto has no backend for ``socialmessaging``. This server answers the operation at its real
path (``POST /v1/whatsapp/send``, REST-JSON, from botocore's service model) so a real boto3
client, pointed here with ``endpoint_url``, serialises and parses exactly as against AWS: the
``message`` blob arrives base64-encoded, the answer is ``{"messageId": ...}``, and errors carry
``x-amzn-ErrorType`` as AWS's REST-JSON services do. It records each message object it accepts
and can be told to fail the next requests (:meth:`FakeSocialMessaging.inject`).

Unverified against AWS: the HTTP status AWS uses for each error (taken from the service
model's error shapes: ThrottledRequestException 429, ValidationException 400, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SEND_PATH = "/v1/whatsapp/send"
ERROR_STATUS = {
    "ValidationException": 400,
    "InvalidParametersException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ThrottledRequestException": 429,
    "InternalServiceException": 500,
    "DependencyException": 502,
}


@dataclass
class FakeSocialMessaging:
    port: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)  # request, message decoded
    times: list[float] = field(default_factory=list)  # time.monotonic() of each accepted send
    faults: list[str] = field(default_factory=list)  # error codes for the next requests
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, *codes: str) -> None:
        with self._lock:
            self.faults.extend(codes)

    def _handle(self, path: str, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        if path != SEND_PATH:
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, {"message": "no route"}
        with self._lock:
            fault = self.faults.pop(0) if self.faults else ""
        if fault:
            return ERROR_STATUS[fault], {"x-amzn-ErrorType": fault}, {"message": "injected"}
        try:
            request = json.loads(body)
            missing = [
                k
                for k in ("originationPhoneNumberId", "message", "metaApiVersion")
                if not isinstance(request.get(k), str) or not request[k]
            ]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            if not request["originationPhoneNumberId"].startswith("phone-number-id-"):
                raise ValueError("originationPhoneNumberId is not a phone number id")
            message = json.loads(base64.b64decode(request["message"], validate=True))
            if message.get("messaging_product") != "whatsapp" or not message.get("to"):
                raise ValueError("message is not a WhatsApp Cloud API message object")
        except (ValueError, binascii.Error) as err:
            return 400, {"x-amzn-ErrorType": "ValidationException"}, {"message": str(err)}
        with self._lock:
            self.accepted.append({**request, "message": message})
            self.times.append(time.monotonic())
            n = len(self.accepted)
        return 200, {}, {"messageId": f"fake-{n:06d}"}

    def start(self) -> FakeSocialMessaging:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, headers, answer = fake._handle(self.path, self.rfile.read(length))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests carry phone numbers: nothing is logged

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
