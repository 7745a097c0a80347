"""Zalo Notification Service (ZNS): an approved template message to a phone number.

Followed: Zalo's ZNS API as documented at developers.zalo.me / zalo.cloud ("Gửi ZNS", "Cách xử lý mã lỗi",
https://zalo.cloud/zns/guidelines/handle-error-code) and the send endpoint every client uses
(https://business.openapi.zalo.me/message/template):

Request: POST, header `access_token: <OA access token>`, JSON
    {"phone": "84987654321", "template_id": "123456", "template_data": {"name": "value", …}, "tracking_id": "…"}
`tracking_id` is ours (the outbox row's idempotency key) and comes back in delivery receipts.
Answer (HTTP 200 even for most errors): {"error": 0, "message": "Success", "data": {"msg_id": "…", "sent_time":
"<ms>", "quota": {"dailyQuota": "…", "remainingQuota": "…"}}}; a non-zero `error` is a failure:
-100 unknown error (retried); -108 phone number invalid, -110 Zalo version unsupported, -114 user inactive or
refusing, -118 Zalo account not existed, -119 account cannot receive ZNS, -139 user refused this kind: the resident
cannot get ZNS (class "recipient"); -115 out of quota, -144 daily quota exceeded (class "quota"); the others (app,
access token -124, template -109/-111/-112/-117, OA permission …) need a person (class "service"). HTTP 429 and 5xx,
network errors and timeouts are retried like every HTTP channel's.

Once Zalo says the quota is used up (an error, or `remainingQuota` 0), sends fail at once with class "quota" until
the next local midnight (the daily quota's reset): no request is wasted, and the fallback starts immediately.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import by_status, exchange, json_body, mask

RETRYABLE_ERRORS = frozenset({-100, -32})
"""ZNS error codes worth another attempt (unknown error; the API's rate limit)."""
RECIPIENT_ERRORS = frozenset({-108, -110, -114, -118, -119, -139})
"""ZNS error codes that say this phone cannot get ZNS (not on Zalo, invalid, refusing, outdated app)."""
QUOTA_ERRORS = frozenset({-115, -144})
"""ZNS error codes that say the quota is used up."""

QuotaSeen = Callable[[int | None, int | None], None]
"""Told of the quota Zalo reports with each accepted message (daily quota, remaining quota)."""


def zns_phone(phone: str) -> str:
    """A Vietnamese number as ZNS takes it: digits with the country code, no plus ("+84987…", "0987…" → "84987…")."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.strip().startswith("+") or digits.startswith("84"):
        return digits
    return "84" + digits[1:] if digits.startswith("0") else digits


def classify(error: int) -> str:
    """The class of a ZNS error code: retry, recipient, quota or service."""
    if error in RETRYABLE_ERRORS:
        return "retry"
    if error in RECIPIENT_ERRORS:
        return "recipient"
    return "quota" if error in QUOTA_ERRORS else "service"


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class Zns:
    """Sends ZNS template messages; thread-safe (several senders share one), remembering an exhausted quota."""

    def __init__(self, url: str, token: str | None, token_env: str, timeout_s: float, tz: str,
                 on_quota: QuotaSeen = lambda daily, remaining: None):
        self.url = url
        self.timeout_s = timeout_s
        self._token = token
        self._token_env = token_env
        self._tz = ZoneInfo(tz)
        self._on_quota = on_quota
        self._lock = threading.Lock()
        self._exhausted_until = 0.0

    def exhausted(self, now: float) -> bool:
        """True while Zalo has said the quota is used up (until the next local midnight)."""
        with self._lock:
            return now < self._exhausted_until

    def _mark_exhausted(self, now: float) -> None:
        local = datetime.fromtimestamp(now, self._tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            self._exhausted_until = midnight.timestamp()

    def send_template(self, n: Notification, phone: str, template_id: str, data: Mapping[str, str],
                      now: float) -> DeliveryResult:
        """Send one template message to a phone, `tracking_id` the notification's idempotency key."""
        if not self._token:
            return DeliveryResult(False, detail=f"ZNS token not set (environment variable {self._token_env})",
                                  reason="service")
        if self.exhausted(now):
            return DeliveryResult(False, detail="ZNS quota used up for today", reason="quota")
        to = zns_phone(phone)
        body = json_body({"phone": to, "template_id": template_id, "template_data": dict(data),
                          "tracking_id": n.idempotency_key})
        headers = {"Content-Type": "application/json", "access_token": self._token}
        secrets = [self._token, to, phone]
        reply = exchange("POST", self.url, n, body, headers, self.timeout_s, secrets)
        if isinstance(reply, DeliveryResult):
            return reply
        answer = reply.json()
        if reply.status >= 300 or not isinstance(answer, dict) or "error" not in answer:
            return by_status(reply, "not a ZNS answer", secrets)
        error = _int(answer["error"])
        if error == 0:
            return self._accepted(answer.get("data"), now)
        kind = "service" if error is None else classify(error)
        detail = mask(f"ZNS error {answer['error']}: {str(answer.get('message', ''))[:200]}", secrets)
        if kind == "retry":
            return DeliveryResult.retry(detail)
        if kind == "quota":
            self._mark_exhausted(now)
        return DeliveryResult(False, detail=detail, reason=kind)

    def _accepted(self, data: object, now: float) -> DeliveryResult:
        """An accepted message: its msg_id, and the quota Zalo reported."""
        data = data if isinstance(data, dict) else {}
        quota = data.get("quota") if isinstance(data.get("quota"), dict) else None
        if quota is not None:
            daily, remaining = _int(quota.get("dailyQuota")), _int(quota.get("remainingQuota"))
            self._on_quota(daily, remaining)
            if remaining is not None and remaining <= 0:
                self._mark_exhausted(now)
        msg_id = str(data.get("msg_id") or "") or None
        return DeliveryResult.sent(msg_id, detail="ZNS accepted")
