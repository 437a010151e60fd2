"""A real HTTP endpoint on 127.0.0.1 standing in for a portal's webhook receiver."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    def verify(self, secret: str) -> Any:
        """Full Standard Webhooks verification (the timestamp must be near real time)."""
        return Webhook(secret).verify(self.body, self.headers)

    def signed_by(self, secret: str) -> bool:
        """The library's own signature for this id, timestamp and body is among those sent
        (for clocks the test moved days ahead, which `verify` would call too new)."""
        at = datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), UTC)
        expected = Webhook(secret).sign(self.headers["webhook-id"], at, self.body.decode())
        return expected in self.headers["webhook-signature"].split(" ")


@dataclass
class Receiver:
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(headers, body))
                self.send_response(receiver.status)
                if 300 <= receiver.status < 400:
                    self.send_header("location", "/elsewhere")
                reply = f"status {receiver.status}".encode()
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
