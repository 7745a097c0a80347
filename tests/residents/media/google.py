"""A local server that speaks Google's OAuth 2.0 token endpoint and the YouTube Data API's resumable upload as
documented: refresh-token grant (invalid_grant when revoked), session start (200 + Location), PUT of the bytes (200
with the video resource), the status query (`Content-Range: bytes */N` → 308 with `Range: bytes=0-n`), 401 for an
unknown access token, 404 for an unknown or expired session, and error answers of the documented shape
(quotaExceeded, uploadLimitExceeded). It can break a PUT after some bytes (closing the connection without an
answer) and answer queued statuses (503) to the next PUTs of bytes."""
from __future__ import annotations

import json
import secrets
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tichwatch.tools.broker import free_port

UPLOAD_PATH = "/upload/youtube/v3/videos"
"""The upload endpoint's path (as on www.googleapis.com)."""


def google_error(code: int, reason: str, message: str, domain: str = "youtube.video") -> dict[str, Any]:
    """An error body as Google APIs answer it."""
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": domain, "reason": reason}]}}


@dataclass
class Session:
    """An upload session: the video resource it was opened with, the size announced and the bytes received."""

    resource: dict[str, Any]
    size: int
    content_type: str
    received: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass
class FakeYouTube:
    """The token endpoint and the upload endpoint on one loopback port."""

    port: int = field(default_factory=free_port)
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-abc"})
    access_tokens: set[str] = field(default_factory=set)
    sessions: dict[str, Session] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # method, path, headers
    start_error: tuple[int, dict[str, Any]] | None = None  # answered to session starts
    put_errors: list[int] = field(default_factory=list)  # statuses answered (first first) to PUTs of bytes
    break_after: list[int] = field(default_factory=list)  # bytes read (first first) before a PUT's connection drops

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def uploads(self) -> list[Session]:
        """Sessions opened so far."""
        with self._lock:
            return list(self.sessions.values())

    def requests(self, method: str) -> list[tuple[str, str, dict[str, str]]]:
        """Requests of a method received so far."""
        with self._lock:
            return [r for r in self.log if r[0] == method]

    def start(self) -> FakeYouTube:
        """Listen."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in {**({"Content-Type": "application/json; charset=UTF-8"} if body is not None else {}),
                             **(headers or {})}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _authorised(self) -> bool:
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                with fake._lock:
                    ok = token in fake.access_tokens
                if not ok:
                    self._answer(401, google_error(401, "authError", "Invalid Credentials", "global"))
                return ok

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:
                path, _, query = self.path.partition("?")
                with fake._lock:
                    fake.log.append(("POST", self.path, dict(self.headers)))
                if path == "/token":
                    form = dict(urllib.parse.parse_qsl(self._body().decode()))
                    with fake._lock:
                        fake.token_requests.append(form)
                        known = form.get("refresh_token") in fake.refresh_tokens
                    if form.get("grant_type") != "refresh_token" or not known:
                        self._answer(400, {"error": "invalid_grant",
                                           "error_description": "Token has been expired or revoked."})
                        return
                    token = f"ya29.{secrets.token_urlsafe(24)}"
                    with fake._lock:
                        fake.access_tokens.add(token)
                    self._answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                                       "scope": "https://www.googleapis.com/auth/youtube.upload"})
                    return
                body = self._body()
                params = dict(urllib.parse.parse_qsl(query))
                if path != UPLOAD_PATH or params != {"uploadType": "resumable", "part": "snippet,status"}:
                    self._answer(404, google_error(404, "notFound", "Not Found", "global"))
                    return
                if not self._authorised():
                    return
                if fake.start_error is not None:
                    self._answer(*fake.start_error)
                    return
                upload_id = secrets.token_urlsafe(12)
                with fake._lock:
                    fake.sessions[upload_id] = Session(json.loads(body), int(self.headers["X-Upload-Content-Length"]),
                                                       self.headers["X-Upload-Content-Type"])
                self._answer(200, None, {"Location": f"{fake.url}{UPLOAD_PATH}?uploadType=resumable&upload_id="
                                                     f"{upload_id}"})

            def do_PUT(self) -> None:
                with fake._lock:
                    fake.log.append(("PUT", self.path, dict(self.headers)))
                upload_id = dict(urllib.parse.parse_qsl(self.path.partition("?")[2])).get("upload_id", "")
                length = int(self.headers.get("Content-Length") or 0)
                with fake._lock:
                    session = fake.sessions.get(upload_id)
                    cut = fake.break_after.pop(0) if fake.break_after and length else None
                    error = fake.put_errors.pop(0) if fake.put_errors and length and cut is None else None
                if cut is not None:  # read some bytes, keep them, and drop the connection without an answer
                    part = self.rfile.read(min(cut, length))
                    if session is not None:
                        session.received += part
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                body = self.rfile.read(length)
                if not self._authorised():
                    return
                if session is None:
                    self._answer(404, google_error(404, "notFound", "Not Found", "global"))
                    return
                if error is not None:
                    self._answer(error, google_error(error, "backendError", "Backend Error", "global"))
                    return
                content_range = self.headers.get("Content-Range") or ""
                if content_range == f"bytes */{session.size}":
                    self._status(session)
                    return
                start = int(content_range.split()[1].split("-")[0]) if content_range else 0
                if start != len(session.received):
                    self._answer(400, google_error(400, "badContent", "Wrong offset", "global"))
                    return
                session.received += body
                self._status(session)

            def _status(self, session: Session) -> None:
                if len(session.received) < session.size:
                    done = len(session.received)
                    self._answer(308, None, {"Range": f"bytes=0-{done - 1}"} if done else {})
                    return
                session.video_id = session.video_id or f"vid{secrets.token_hex(4)}"
                self._answer(200, {"kind": "youtube#video", "id": session.video_id, "snippet":
                                   session.resource["snippet"], "status": {"uploadStatus": "uploaded",
                                                                           **session.resource["status"]}})

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
