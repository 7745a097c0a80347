"""Signed, expiring, single-use acknowledge links for messages.

A token is `<payload>.<mac>`: the payload (alert id, receiver, expiry, nonce) as base64url JSON and an HMAC-SHA256 of
it. The link's GET only shows a confirmation page (mail scanners follow links); the POST acknowledges and records the
nonce as used, so the link works once. The key comes from an environment variable, or is generated once and kept in the
data directory (mode 0600).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tichwatch.core.links import ack_url
from tichwatch.store import database
from tichwatch.store.database import Connection

KEY_FILE = "ack_link.key"
"""The generated key's file in the data directory."""


class InvalidLink(Exception):
    """The token cannot be used; `reason` is damaged, forged, expired or used (pages word it for people)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"acknowledge link {reason}")


@dataclass(frozen=True)
class AckClaim:
    """What a valid token says."""

    alert_id: str
    receiver: str
    expires_ts: float
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_key(data_dir: Path, env_var: str, env: Mapping[str, str] | None = None) -> bytes:
    """The signing key: from the environment variable, else the data directory's key file (created when missing)."""
    value = (os.environ if env is None else env).get(env_var)
    if value:
        return value.encode("utf-8")
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode("ascii")


class AckLinks:
    """Issues and checks acknowledge tokens."""

    def __init__(self, key: bytes, ttl_s: float, public_url: str):
        self._key = key
        self.ttl_s = ttl_s
        self.public_url = public_url.rstrip("/")

    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest()[:16])

    def issue(self, alert_id: str, receiver: str, now: float) -> str:
        """A fresh token for one receiver's message about an alert."""
        payload = json.dumps({"a": alert_id, "r": receiver, "e": int(now + self.ttl_s), "n": secrets.token_urlsafe(9)},
                             separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._mac(payload)}"

    def url(self, alert_id: str, receiver: str, now: float) -> str:
        """The link to put in a message."""
        return ack_url(self.public_url, self.issue(alert_id, receiver, now))

    def verify(self, token: str, now: float) -> AckClaim:
        """The claim of a genuine, unexpired token; InvalidLink otherwise (does not check single use)."""
        try:
            body, mac = token.split(".", 1)
            payload = _unb64(body)
            ok = hmac.compare_digest(mac, self._mac(payload))
            claim = None
            if ok:
                data = json.loads(payload)
                claim = AckClaim(str(data["a"]), str(data["r"]), float(data["e"]), str(data["n"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidLink("damaged") from None
        if claim is None:
            raise InvalidLink("forged")
        if now >= claim.expires_ts:
            raise InvalidLink("expired")
        return claim


def use_nonce(conn: Connection, claim: AckClaim, actor: str, now: float) -> None:
    """Record the token's nonce as used, inside the caller's transaction; InvalidLink when it was used before."""
    try:
        conn.execute("INSERT INTO ack_link_nonces (nonce, alert_id, used_ts, used_by) VALUES (?, ?, ?, ?)",
                     (claim.nonce, claim.alert_id, now, actor))
    except database.IntegrityError:
        raise InvalidLink("used") from None
