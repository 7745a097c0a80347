"""Local servers the delivery tests talk to: an HTTP server that records requests and answers like the real service
(webhook receiver, Telegram Bot API, Zalo OA API, Facebook Graph API, SMS gateway), and an SMTP server with STARTTLS
and AUTH (aiosmtpd) using a self-signed certificate made with the openssl CLI."""
from __future__ import annotations

import json
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session, SMTP

from ingest.broker import free_port


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
    """A threaded HTTP server on a fixed port that records every request and answers with `reply`."""

    reply: Callable[[Recorded], Reply] = ok_json
    port: int = field(default_factory=free_port)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HttpRecorder":
        """Listen (again) on the port."""
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with recorder._lock:
                    recorder.requests.append(rec)
                status, headers, data = recorder.reply(rec)
                payload = json.dumps(data).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = _handle

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening (the port refuses connections until `start`)."""
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
    """aiosmtpd with STARTTLS required before AUTH (PLAIN, LOGIN), keeping the messages it accepts."""

    def __init__(self, directory: Path, user: str, password: str):
        self.cert, key = self_signed_cert(directory)
        self.messages: list[Envelope] = []
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        server = self

        class Handler:
            async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
                server.messages.append(envelope)
                return "250 Message accepted"

        def authenticate(smtp: SMTP, session: Session, envelope: Envelope, mechanism: str,
                         data: Any) -> AuthResult:
            good = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (user, password)
            return AuthResult(success=good, handled=False)

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, auth_require_tls=True, authenticator=authenticate)

    def start(self) -> "SmtpServer":
        """Listen."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop."""
        self.controller.stop()
