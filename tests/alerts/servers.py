"""Local servers the delivery tests talk to: an HTTP server that records requests and answers like the real service
(webhook receiver, Telegram Bot API, Zalo OA API, Facebook Graph API, SMS gateway) and can hang — hold every request
until released, silently or trickling its answer a byte at a time so no socket timeout fires —, and an SMTP server
with STARTTLS and AUTH (aiosmtpd) using a self-signed certificate made with the openssl CLI, which can refuse
recipients the way Postfix does."""
from __future__ import annotations

import json
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tichwatch.tools.broker import free_port


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body as a form."""
        return dict(urllib.parse.parse_qsl(self.body.decode()))


Reply = tuple[int, dict[str, str], Any]
"""Status, headers and a JSON-able body."""


def ok_json(_: Recorded) -> Reply:
    """A plain 200."""
    return 200, {}, {"ok": True}


@dataclass
class HttpRecorder:
    """A threaded HTTP server on a fixed port that records every request and answers with `reply`; after `hold()` it
    answers nothing until `release()` (with `trickle_s`, it sends its answer's first header a byte every `trickle_s`
    meanwhile: a client's per-read socket timeout never fires)."""

    reply: Callable[[Recorded], Reply] = ok_json
    port: int = field(default_factory=free_port)
    requests: list[Recorded] = field(default_factory=list)
    trickle_s: float | None = None

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self.released = threading.Event()
        self.released.set()

    def hold(self) -> None:
        """Hang: hold every request (those already held and new ones) until `release`."""
        self.released.clear()

    def release(self) -> None:
        """Answer the held requests, and the following ones at once."""
        self.released.set()

    def count(self) -> int:
        """Requests received so far."""
        with self._lock:
            return len(self.requests)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpRecorder:
        """Listen (again) on the port."""
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with recorder._lock:
                    recorder.requests.append(rec)
                if recorder.trickle_s is not None and not recorder.released.is_set():
                    self._trickle(rec, recorder.trickle_s)
                    return
                recorder.released.wait()
                status, headers, data = recorder.reply(rec)
                payload = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    for k, v in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # a held request's client gave up waiting
                    self.close_connection = True

            def _trickle(self, rec: Recorded, every_s: float) -> None:
                """Start a 200 answer, then send one byte of a header every `every_s` until released."""
                try:
                    self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Hold: ")
                    while not recorder.released.wait(every_s):
                        self.wfile.write(b".")
                    _status, headers, data = recorder.reply(rec)
                    payload = json.dumps(data).encode()
                    lines = [f"{k}: {v}" for k, v in {"Content-Type": "application/json", **headers,
                                                       "Content-Length": str(len(payload))}.items()]
                    self.wfile.write(("\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + payload)
                except OSError:  # the client gave up
                    pass
                self.close_connection = True

            do_POST = do_GET = _handle

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Release what is held and stop listening (the port refuses connections until `start`)."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bodies(self) -> list[Any]:
        """JSON bodies received so far."""
        with self._lock:
            return [r.json() for r in self.requests]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, made with the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class SmtpServer:
    """aiosmtpd with STARTTLS required before AUTH (PLAIN, LOGIN), keeping the messages it accepts; recipients in
    `refuse` get Postfix's 550 reply, which repeats the address."""

    def __init__(self, directory: Path, user: str, password: str, refuse: frozenset[str] = frozenset()):
        self.cert, key = self_signed_cert(directory)
        self.messages: list[Envelope] = []
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        server = self

        class Handler:
            async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope, address: str,
                                  rcpt_options: list[str]) -> str:
                if address in refuse:
                    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
                server.messages.append(envelope)
                return "250 Message accepted"

        def authenticate(smtp: SMTP, session: Session, envelope: Envelope, mechanism: str,
                         data: Any) -> AuthResult:
            good = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (user, password)
            return AuthResult(success=good, handled=False)

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, auth_require_tls=True, authenticator=authenticate)

    def start(self) -> SmtpServer:
        """Listen."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop."""
        self.controller.stop()
