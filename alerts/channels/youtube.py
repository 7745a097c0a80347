"""YouTube: a bulletin as a short video (its card and chart while the radio audio plays: residents/video.py) uploaded
to the commune's channel with the YouTube Data API v3 resumable upload protocol.

What this follows (Google's documentation: "YouTube Data API - Resumable Uploads", videos.insert and its errors,
"Using OAuth 2.0 to Access Google APIs"; the request sequence as google-api-python-client's MediaUpload makes it):
1. Access token: POST {token_url} form `client_id`, `client_secret`, `refresh_token`, `grant_type=refresh_token` →
   {"access_token", "expires_in", "token_type": "Bearer"}; 400 {"error": "invalid_grant"} when the refresh token
   expired or was revoked (a person must authorise again: not retried).
2. Session: POST {upload_url}?uploadType=resumable&part=snippet,status, `Authorization: Bearer`, JSON
   {"snippet": {title, description, tags, categoryId, defaultLanguage, defaultAudioLanguage}, "status":
   {privacyStatus, selfDeclaredMadeForKids}}, headers `X-Upload-Content-Length` and `X-Upload-Content-Type` → 200
   with the session URI in `Location`.
3. Upload: PUT the bytes to the session URI → 200/201 with the video resource ({"id": …}).
4. After an interruption or a 5xx: PUT with no body and `Content-Range: bytes */<total>` → 308 Resume Incomplete with
   `Range: bytes=0-<n>` (no Range: nothing stored) → PUT bytes n+1… with `Content-Range: bytes <n+1>-<total-1>/<total>`;
   or 200/201 with the video resource: the upload had finished. 404 (or 410, 400) on the session: it expired (about a
   week) → a new session from the first byte.
5. 401 on any request: the access token is refreshed once per attempt.

Errors ({"error": {"code", "message", "errors": [{"reason", "domain", "message"}]}}): 403 `quotaExceeded` (the
project's daily quota, reset at midnight Pacific time) and 400 `uploadLimitExceeded` (the channel's daily uploads)
are not retried now: the delivery fails with a detail saying so, and an officer publishes to the receiver again from
the bulletin desk after the reset (the outbox's retries, ten within about an hour, would all fail the same way and
spend nothing but requests). `rateLimitExceeded`, 408/429 and 5xx are retried.

Nothing is uploaded twice: the session URI and, once known, the video id are kept in a small file in the bulletin's
folder per receiver (`youtube-<receiver>.json`, mode 0600: the URI lets whoever holds it upload into the session). A
later attempt (after a crash, a timeout, a lost answer, or an officer's retry or republication) asks the kept session
where it stands and resumes, or answers with the video already uploaded, instead of starting again.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.bulletin_media import bulletin_of
from tichwatch.alerts.channels.http import (
    RETRYABLE_STATUS,
    HttpReply,
    by_status,
    exchange,
    json_body,
    mask,
    retry_after_s,
)
from tichwatch.config.alerts import YouTubeChannel
from tichwatch.residents.bulletins.files import BulletinFiles
from tichwatch.residents.video import VIDEO_TYPE, BulletinVideos, VideoSpec, VideoUnavailable

TITLE_MAX_CHARS = 100
"""Longest video title YouTube takes."""
DESCRIPTION_MAX_BYTES = 5000
"""Longest video description YouTube takes, UTF-8 bytes."""
ROUNDS = 4
"""Session starts, status queries and PUTs resumed within one attempt before it gives up (the session is kept)."""
QUOTA_REASONS = frozenset({"quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded"})
"""Error reasons of a daily limit: no retry helps before the reset."""
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError"})
"""Error reasons worth another attempt soon."""
SESSION_GONE = frozenset({400, 404, 410})
"""Statuses of a session URI that no longer takes the upload (expired or unknown): start a new session."""


@dataclass(frozen=True)
class Credentials:
    """The OAuth client and the refresh token the channel's owner granted (from the environment)."""

    client_id: str | None
    client_secret: str | None
    refresh_token: str | None


def _clean(text: str) -> str:
    """YouTube refuses '<' and '>' in titles and descriptions."""
    return text.replace("<", "‹").replace(">", "›")


def video_resource(title: str, description: str, cfg: YouTubeChannel, lang: str) -> dict[str, Any]:
    """The video resource of videos.insert (parts snippet and status) for a bulletin."""
    desc = _clean(description).encode("utf-8")[:DESCRIPTION_MAX_BYTES].decode("utf-8", "ignore")
    return {"snippet": {"title": _clean(title).strip()[:TITLE_MAX_CHARS] or "TichWatch", "description": desc,
                        "tags": list(cfg.tags), "categoryId": cfg.category_id, "defaultLanguage": lang,
                        "defaultAudioLanguage": "vi"},
            "status": {"privacyStatus": cfg.privacy_status, "selfDeclaredMadeForKids": False}}


def google_error(reply: HttpReply, secrets: Sequence[str | None]) -> DeliveryResult:
    """A Google API error answer classified: daily limits fail with a detail saying when to publish again, rate
    limits and outages are retried, the rest fail."""
    data = reply.json()
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return by_status(reply, "not a Google API answer", secrets)
    reasons = [str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)]
    detail = mask(f"YouTube {reply.status} {','.join(reasons) or error.get('status', '')}: "
                  f"{str(error.get('message', ''))[:200]}", secrets)
    if QUOTA_REASONS & set(reasons):
        return DeliveryResult.fail(f"{detail} — a daily limit (reset at midnight Pacific time): not retried now; "
                                   "publish the bulletin to this receiver again from the bulletin desk after it")
    if RATE_REASONS & set(reasons) or reply.status in RETRYABLE_STATUS:
        return DeliveryResult.retry(detail, retry_after_s(reply.headers.get("Retry-After")))
    return DeliveryResult.fail(detail)


def uploaded_range(reply: HttpReply) -> int:
    """Bytes the server holds, from a 308's `Range: bytes=0-<n>` (none: nothing stored)."""
    found = re.fullmatch(r"\s*bytes=0-(\d+)\s*", reply.headers.get("Range") or reply.headers.get("range") or "")
    return int(found.group(1)) + 1 if found else 0


class UploadState:
    """What one receiver's upload of one bulletin has reached, kept in the bulletin's folder across attempts and
    restarts: the session URI with the video's size and SHA-256, then the video id."""

    def __init__(self, path: Path):
        self.path = path
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        self.data: dict[str, Any] = loaded if isinstance(loaded, dict) else {}

    def save(self, **changes: Any) -> None:
        """Record changes (written whole, owner-only)."""
        self.data.update(changes)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)

    def session_for(self, digest: str) -> str | None:
        """The kept session URI, when it was opened for this very video (its SHA-256): a video made again since
        (the audio synthesised again at a republication) never continues another's bytes."""
        uri = self.data.get("session_uri")
        return str(uri) if uri and self.data.get("sha256") == digest else None


class YouTube:
    """Upload bulletins to a YouTube channel as videos (alerts are refused: a video is made of a bulletin)."""

    def __init__(self, cfg: YouTubeChannel, credentials: Credentials, files: BulletinFiles | None, lang: str = "vi",
                 pause_s: float = 1.0, clock: Callable[[], float] = time.time):
        self.cfg = cfg
        self.credentials = credentials
        self.files = files
        self.lang = lang
        self.pause_s = pause_s  # between rounds within an attempt (1 s, 2 s, 4 s)
        self.clock = clock
        self.videos = None if files is None else BulletinVideos(files, VideoSpec(
            max_bytes=cfg.max_video_mb * 1024 * 1024, timeout_s=cfg.video_timeout_s))
        self._access: tuple[str, float] | None = None  # token, expiry

    @property
    def _secrets(self) -> list[str | None]:
        c = self.credentials
        return [c.client_secret, c.refresh_token, self._access[0] if self._access else None]

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one bulletin: make (or reuse) its video and upload it, resuming a kept session."""
        c = self.credentials
        missing = [env for env, value in ((self.cfg.client_id_env, c.client_id),
                                          (self.cfg.client_secret_env, c.client_secret),
                                          (self.cfg.refresh_token_env, c.refresh_token)) if not value]
        if missing:
            return DeliveryResult.fail(f"YouTube credentials not set (environment variables {', '.join(missing)})")
        bulletin_id = bulletin_of(n)
        if bulletin_id is None or self.files is None or self.videos is None:
            return DeliveryResult.fail("YouTube takes bulletins only (a video is made of a bulletin): route no "
                                       "alerts to this receiver")
        state = UploadState(self.files.path(bulletin_id, f"youtube-{n.receiver}.json"))
        if state.data.get("video_id"):
            return DeliveryResult.sent(str(state.data["video_id"]), "uploaded by an earlier attempt")
        try:
            video = self.videos.video(bulletin_id, self.lang)
        except VideoUnavailable as exc:
            detail = f"no video: {exc}"
            return DeliveryResult.fail(detail) if exc.lasting else DeliveryResult.retry(detail)
        return Upload(self, n, video, state).run()

    def access_token(self, n: Notification, renew: bool = False) -> str | DeliveryResult:
        """An access token from the refresh token (kept until a minute before it expires), or why there is none."""
        if self._access and not renew and self._access[1] > self.clock():
            return self._access[0]
        c = self.credentials
        body = urllib.parse.urlencode({"client_id": c.client_id, "client_secret": c.client_secret,
                                       "refresh_token": c.refresh_token, "grant_type": "refresh_token"}).encode()
        reply = exchange("POST", self.cfg.token_url, n, body, {"Content-Type": "application/x-www-form-urlencoded"},
                         self.cfg.request_timeout_s, self._secrets)
        if isinstance(reply, DeliveryResult):
            return reply
        data = reply.json()
        if reply.status == 200 and isinstance(data, dict) and data.get("access_token"):
            expires_in = float(data.get("expires_in") or 3600)
            self._access = (str(data["access_token"]), self.clock() + max(0.0, expires_in - 60))
            return self._access[0]
        if isinstance(data, dict) and isinstance(data.get("error"), str) and reply.status not in RETRYABLE_STATUS:
            detail = mask(f"OAuth token refused: {data['error']}: {str(data.get('error_description', ''))[:200]}",
                          self._secrets)
            if data["error"] in ("invalid_grant", "invalid_client", "unauthorized_client"):
                detail += " — the channel's owner must authorise TichWatch again (a new refresh token)"
            return DeliveryResult.fail(detail)
        return by_status(reply, "OAuth token endpoint", self._secrets)


class Upload:
    """One attempt's upload of one video: start or resume the session, PUT what the server lacks, and classify."""

    def __init__(self, channel: YouTube, n: Notification, video: Path, state: UploadState):
        self.ch = channel
        self.n = n
        self.video = video
        self.size = video.stat().st_size
        self.digest = ""  # the video's SHA-256, once its size is known to be within the limit
        self.state = state
        self.renewed = False  # the access token was refreshed after a 401 (once per attempt)
        self.token = ""

    def run(self) -> DeliveryResult:
        """The attempt: up to ROUNDS rounds of (session or status query, PUT)."""
        if self.size > self.ch.cfg.max_video_mb * 1024 * 1024:
            return DeliveryResult.fail(f"the video has {self.size} bytes: more than {self.ch.cfg.max_video_mb} MiB")
        self.digest = hashlib.sha256(self.video.read_bytes()).hexdigest()
        token = self.ch.access_token(self.n)
        if isinstance(token, DeliveryResult):
            return token
        self.token = token
        last = DeliveryResult.retry("upload not started")
        for round_ in range(ROUNDS):
            if round_:
                time.sleep(self.ch.pause_s * 2 ** (round_ - 1))
            outcome = self._round()
            if isinstance(outcome, DeliveryResult) and (outcome.ok or not outcome.retryable):
                return outcome
            last = outcome if isinstance(outcome, DeliveryResult) else last
        return DeliveryResult.retry(f"{last.detail}; upload interrupted {ROUNDS} times: the session is kept and the "
                                    "next attempt resumes it", last.retry_after_s)

    @property
    def secrets(self) -> list[str | None]:
        """What to mask in details: the client secret, refresh and access tokens, and the session URI."""
        return [*self.ch._secrets, self.token, self.state.data.get("session_uri")]

    def _round(self) -> DeliveryResult | None:
        """Start or query the session, then PUT from where the server stands; None: go round again at once."""
        session = self.state.session_for(self.digest)
        if session is None:
            started = self._start()
            if isinstance(started, DeliveryResult):
                return started
            session, offset = started, 0
        else:
            reply = self._request("PUT", session, b"", {"Content-Range": f"bytes */{self.size}"})
            if isinstance(reply, DeliveryResult) or reply is None:
                return reply
            if reply.status == 308:
                offset = uploaded_range(reply)
            else:
                return self._finished(reply)
        headers = {"Content-Type": VIDEO_TYPE}
        if offset:
            headers["Content-Range"] = f"bytes {offset}-{self.size - 1}/{self.size}"
        with open(self.video, "rb") as f:
            f.seek(offset)
            data = f.read()
        reply = self._request("PUT", session, data, headers)
        if isinstance(reply, DeliveryResult):
            return reply if not reply.retryable else DeliveryResult.retry(f"upload interrupted: {reply.detail}")
        if reply is None or reply.status == 308:
            return None  # only part arrived: the next round asks how much
        return self._finished(reply)

    def _start(self) -> str | DeliveryResult:
        """Open a session for the video; its URI (kept in the state file) or why not."""
        resource = video_resource(self.n.message.title, self.n.message.text, self.ch.cfg, self.ch.lang)
        url = f"{self.ch.cfg.upload_url}?uploadType=resumable&part=snippet,status"
        headers = {"Content-Type": "application/json; charset=UTF-8", "X-Upload-Content-Length": str(self.size),
                   "X-Upload-Content-Type": VIDEO_TYPE}
        reply = self._request("POST", url, json_body(resource), headers)
        if not isinstance(reply, HttpReply):
            return reply or DeliveryResult.retry("no session")
        location = reply.headers.get("Location") or reply.headers.get("location")
        if reply.status == 200 and location:
            self.state.save(session_uri=location, sha256=self.digest, size=self.size, started_ts=self.ch.clock(),
                            idempotency_key=self.n.idempotency_key)
            return location
        return google_error(reply, self.secrets) if reply.status >= 300 else \
            DeliveryResult.retry(f"YouTube answered {reply.status} without a session URI")

    def _request(self, method: str, url: str, body: bytes, headers: dict[str, str]
                 ) -> HttpReply | DeliveryResult | None:
        """One request with the access token; a 401 renews the token once and repeats the request. None: the
        session is gone (forgotten here: the next round opens a new one)."""
        reply = self._exchange(method, url, body, headers)
        if isinstance(reply, HttpReply) and reply.status == 401 and not self.renewed:
            self.renewed = True
            token = self.ch.access_token(self.n, renew=True)
            if isinstance(token, DeliveryResult):
                return token
            self.token = token
            reply = self._exchange(method, url, body, headers)
        if isinstance(reply, DeliveryResult):
            return reply
        if reply.status == 401:
            return DeliveryResult.fail("YouTube refused a freshly renewed access token (401): check the OAuth "
                                       "client and the channel owner's grant")
        if method == "PUT" and reply.status in SESSION_GONE and not _is_quota(reply):
            self.state.save(session_uri=None, sha256=None)  # expired: the next round opens a new session
            return None
        return reply

    def _exchange(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> HttpReply | DeliveryResult:
        return exchange(method, url, self.n, body, {**headers, "Authorization": f"Bearer {self.token}"},
                        self.ch.cfg.request_timeout_s, self.secrets)

    def _finished(self, reply: HttpReply) -> DeliveryResult:
        """The answer to a PUT that is not a 308: the video resource (kept), or an error."""
        data = reply.json()
        if reply.status in (200, 201) and isinstance(data, dict) and data.get("id"):
            self.state.save(video_id=str(data["id"]), session_uri=None, uploaded_ts=self.ch.clock())
            return DeliveryResult.sent(str(data["id"]))
        return google_error(reply, self.secrets) if reply.status >= 300 else \
            DeliveryResult.retry(f"YouTube answered {reply.status} without a video resource")


def _is_quota(reply: HttpReply) -> bool:
    """Whether an error answer is a daily limit (a 400 uploadLimitExceeded is no expired session)."""
    data = reply.json()
    error = data.get("error") if isinstance(data, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    return any(isinstance(e, dict) and e.get("reason") in QUOTA_REASONS for e in errors or [])
