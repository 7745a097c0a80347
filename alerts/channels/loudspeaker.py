"""Loudspeaker: each notification (an alert change, a published bulletin) as a package for the provincial source
system of the commune's smart loudspeaker radio (truyền thanh thông minh), with its MP3.

What was followed: Thông tư 39/2020/TT-BTTTT (quản lý đài truyền thanh cấp xã ứng dụng CNTT-VT) defines the three
priorities of what the central and provincial source systems send to a commune's station — thông thường (played when
the commune chooses, in its programme), ưu tiên (played first in the programme), khẩn cấp (played at once: natural
disasters, fires, epidemics). The Ministry's guidance on the source systems' functions (1273/BTTTT-TTCS, version 1.0,
2021; 2455/BTTTT-TTCS, version 2.0, 2023) leaves the wire format to each province's vendor, and none was found
published; the request below is therefore our own plain design, the shape most vendors' upload APIs take (a JSON
description and the audio file in one multipart/form-data POST). A vendor that takes files instead gets the same
package in a drop folder.

Mode `http`: POST <url>, `Content-Type: multipart/form-data`, parts in this order:
  `metadata` — filename `package.json`, application/json; charset=utf-8: the package document
               (residents.loudspeaker.package.package_document);
  `audio` — filename `audio.mp3`, audio/mpeg: the MP3 the document's `audio` describes (sha256, bytes, duration_s).
Headers: `Idempotency-Key: <package id>` (the same on every attempt), `Authorization: Bearer <token>` (from the
receiver's `token_env`). Answers: 2xx accepted (a JSON body's `id` kept as the remote id); 409 Conflict means the
endpoint holds that package id already (an answer lost before) and counts as accepted; 408, 425, 429 and 5xx are
retried through the outbox honouring Retry-After; other 4xx fail (alerts.channels.http.by_status). A package larger
than `loudspeaker.max_package_bytes` fails without being sent.

Mode `folder`: residents.loudspeaker.drop (atomic `<folder>/<package id>/` and its `.ready` marker); an unwritable or
missing folder, or a full disk, is retried.
"""
from __future__ import annotations

import subprocess
import time

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import by_status, exchange, json_body
from tichwatch.alerts.channels.multipart import FilePart, form_data
from tichwatch.config.loudspeaker import LoudspeakerChannel
from tichwatch.config.schema import Settings
from tichwatch.residents.loudspeaker.audio import AudioCache
from tichwatch.residents.loudspeaker.drop import drop_package
from tichwatch.residents.loudspeaker.package import (
    AUDIO_NAME,
    AUDIO_TYPE,
    PACKAGE_NAME,
    TEXT_NAME,
    PackageError,
    draft_of,
    package_document,
)
from tichwatch.residents.speech import SpeechUnavailable

MIN_UPLOAD_S = 5.0
"""The least time an upload is given, whatever making the audio took of the send's time limit."""


class Loudspeaker:
    """Packages to the source system's endpoint or a drop folder."""

    def __init__(self, cfg: LoudspeakerChannel, settings: Settings, token: str | None, cache: AudioCache):
        self.cfg = cfg
        self.settings = settings
        self._token = token
        self.cache = cache

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification as a package."""
        started = time.monotonic()
        if self.cfg.mode == "http" and self.cfg.token_env and not self._token:
            return DeliveryResult.fail(f"token not set (environment variable {self.cfg.token_env})")
        try:
            draft = draft_of(n, self.settings)
            audio = self.cache.audio(draft.id, draft.spoken_text, self.cfg.timeout_s)
            mp3 = audio.read()
        except PackageError as exc:
            return DeliveryResult.fail(f"no package: {exc}")
        except (SpeechUnavailable, subprocess.TimeoutExpired, OSError) as exc:
            return DeliveryResult.retry(f"no audio: {type(exc).__name__}: {str(exc)[:300]}")
        document = json_body(package_document(draft, audio.info, self.settings))
        size, limit = len(document) + len(mp3), self.settings.loudspeaker.max_package_bytes
        if size > limit:
            return DeliveryResult.fail(f"package of {size} bytes is larger than loudspeaker.max_package_bytes "
                                       f"({limit})")
        if self.cfg.mode == "folder":
            return self._drop(draft.id, document, mp3, draft.text)
        return self._post(n, draft.id, document, mp3, max(MIN_UPLOAD_S, self.cfg.timeout_s - (time.monotonic()
                                                                                               - started)))

    def _drop(self, package_id: str, document: bytes, mp3: bytes, text: str) -> DeliveryResult:
        assert self.cfg.folder is not None  # the config requires it in mode folder
        try:
            written = drop_package(self.cfg.folder, package_id, {PACKAGE_NAME: document, AUDIO_NAME: mp3,
                                                                 TEXT_NAME: text.encode("utf-8") + b"\n"})
        except OSError as exc:
            return DeliveryResult.retry(f"drop folder not writable: {type(exc).__name__}: {exc.strerror or exc}")
        return DeliveryResult.sent(package_id, "written" if written else "ready already")

    def _post(self, n: Notification, package_id: str, document: bytes, mp3: bytes,
              timeout_s: float) -> DeliveryResult:
        assert self.cfg.url is not None  # the config requires it in mode http
        body, content_type = form_data({}, {"metadata": FilePart(PACKAGE_NAME, "application/json; charset=utf-8",
                                                                 document),
                                            "audio": FilePart(AUDIO_NAME, AUDIO_TYPE, mp3)})
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        reply = exchange("POST", self.cfg.url, n, body, headers, timeout_s, [self._token])
        if isinstance(reply, DeliveryResult):
            return reply
        if reply.status == 409:
            return DeliveryResult.sent(package_id, "HTTP 409: the endpoint holds this package already")
        result = by_status(reply, secrets=[self._token])
        data = reply.json()
        if result.ok and isinstance(data, dict) and data.get("id"):
            return DeliveryResult.sent(str(data["id"])[:200], result.detail)
        return result
