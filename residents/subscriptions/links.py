"""Unsubscribe links and the keyed hashes of subscriptions, all from one server key.

The link in every message is `<public_url>/huy/<id>.<mac>`: `mac` is HMAC-SHA256(key, "unsubscribe:<id>") cut to 132
bits (22 base64url characters). Nothing is stored per link: the sender makes the link for any subscriber id with
`link_for`, and the page verifies it by recomputing the MAC (constant-time compare). Ids are never reused (the table
is AUTOINCREMENT), so a link reaches only the one subscriber it was made for, and keeps answering "done" once that
subscriber is erased. Changing the key voids every link already sent.

The key comes from the environment variable named by `subscriptions.link_secret_env`; without it, a random key is
made once and kept in the data directory (`unsubscribe.key`, mode 0600), so one node works out of the box (several
nodes must share the variable).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from tichwatch.config.loader import secret

KEY_FILE = "unsubscribe.key"
"""The key's file in the data directory when no environment variable gives it."""
MAC_CHARS = 22
"""Characters of a link's MAC (base64url, 132 bits)."""
TOKEN = re.compile(r"^([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{" + str(MAC_CHARS) + "})$")
"""The form of an unsubscribe token."""


class LinkKey:
    """The server key behind unsubscribe links, code hashes and phone keys (each use with its own label)."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the unsubscribe link key must be at least 16 bytes")
        self._key = key

    def mac(self, label: str, value: str) -> str:
        """HMAC-SHA256 of `label:value`, base64url without padding."""
        digest = hmac.new(self._key, f"{label}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token_for(self, subscriber_id: int) -> str:
        """The unsubscribe token of a subscriber (the same every time: derived, not stored)."""
        return f"{subscriber_id}.{self.mac('unsubscribe', str(subscriber_id))[:MAC_CHARS]}"

    def subscriber_of(self, token: str) -> int | None:
        """The subscriber id a token was made for; None when it is not a token this key made."""
        m = TOKEN.fullmatch(token)
        if m is None:
            return None
        expected = self.mac("unsubscribe", m.group(1))[:MAC_CHARS]
        return int(m.group(1)) if hmac.compare_digest(expected, m.group(2)) else None

    def phone_key(self, e164: str) -> str:
        """A keyed hash of a phone number (for counting codes sent without keeping the number)."""
        return self.mac("phone", e164)

    def code_hash(self, subscriber_id: int, code: str) -> str:
        """A keyed hash of a confirmation code (a 6-digit code's plain hash would be reversed at once)."""
        return self.mac("code", f"{subscriber_id}:{code}")


def load_key(env_name: str, data_dir: Path, env: Mapping[str, str] | None = None) -> LinkKey:
    """The key from the environment variable, else from (or made once into) the data directory's key file."""
    value = secret(env_name, env)
    if value is not None:
        return LinkKey(value.encode())
    path = Path(data_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return LinkKey(bytes.fromhex(path.read_text(encoding="ascii").strip()))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
    return LinkKey(bytes.fromhex(path.read_text(encoding="ascii").strip()))


def unsubscribe_link(base_url: str, token: str, path: str = "/huy") -> str:
    """The link a message carries: `<base_url><path>/<token>`."""
    return f"{base_url.rstrip('/')}{path}/{token}"
