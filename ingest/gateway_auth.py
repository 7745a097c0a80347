"""Per-message gateway authentication: HMAC-SHA256 signatures in MQTT 5 user properties, with replay protection.

A gateway signs `f"{topic}\\n{sig_ts}\\n{nonce}\\n".encode() + payload` with its key and sends the hex digest, the
time and the nonce as the user properties `sig`, `sig_ts` and `nonce`. The service checks the signature with the key
of the gateway that owns the topic's station or camera, refuses times too far ahead of its clock or too old, and
nonces it has already accepted (kept in the data directory by `gateway_auth_nonces`, so a restart forgets none).
Keys come in, time comes in; the only I/O is the nonce store.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path

from tichwatch.config.loader import secret
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Rejection, Topics
from tichwatch.ingest.gateway_auth_nonces import NONCE_DB, NonceStore

SIG = "sig"
SIG_TS = "sig_ts"
NONCE = "nonce"
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
"""A nonce: 8 to 64 characters of A-Z a-z 0-9 _ - (sign() uses 32 random hex digits)."""
SIG_TS_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
"""The signature time: epoch seconds, optionally with a fraction."""
MIN_KEY_BYTES = 16
"""Shortest key accepted (use `openssl rand -hex 32`)."""


def canonical(topic: str, sig_ts: str, nonce: str, payload: bytes) -> bytes:
    """The bytes a signature covers: topic, time and nonce (each ending in a newline), then the payload."""
    return f"{topic}\n{sig_ts}\n{nonce}\n".encode() + payload


def signature(key: bytes, topic: str, sig_ts: str, nonce: str, payload: bytes) -> str:
    """Hex HMAC-SHA256 of the canonical bytes."""
    return hmac.new(key, canonical(topic, sig_ts, nonce, payload), hashlib.sha256).hexdigest()


def sign(topic: str, payload: bytes, key: bytes, now: float, nonce: str | None = None) -> dict[str, str]:
    """The user properties that authenticate one message (what a gateway adds to its PUBLISH)."""
    nonce = nonce or secrets.token_hex(16)
    sig_ts = str(int(now))
    return {SIG: signature(key, topic, sig_ts, nonce, payload), SIG_TS: sig_ts, NONCE: nonce}


def staleness(sig_ts: float, now: float, ahead_s: float, max_age_s: float) -> str | None:
    """Why a signature time is unacceptable (too far ahead of the service clock, or too old), else None (pure)."""
    skew = sig_ts - now
    if skew > ahead_s:
        return f"sig_ts is {skew:+.0f} s ahead of the service clock (allowed {ahead_s:.0f} s)"
    if -skew > max_age_s:
        return f"sig_ts is {-skew:.0f} s old (allowed {max_age_s:.0f} s)"
    return None


class GatewayVerifier:
    """Checks the signature of messages on the topics of stations, rain gauges and cameras whose gateway has a
    key."""

    def __init__(self, settings: Settings, keys: Mapping[str, bytes], nonces: NonceStore | None = None):
        """`nonces`: where accepted nonces are kept (the data directory's file; by default in memory only)."""
        auth = settings.gateway_auth
        self._topics = Topics(settings.mqtt.topic_prefix)
        self._owner: dict[tuple[str, str], str] = {}
        for g in auth.gateways:
            if g.username in keys:
                self._owner.update({("water", s): g.username for s in g.stations})
                self._owner.update({("camera", c): g.username for c in g.cameras})
                self._owner.update({("rain", r): g.username for r in g.rain_gauges})
        self._keys = dict(keys)
        self._ahead_s = auth.clock_window_s
        self._max_age_s = auth.signature_max_age_s
        self._nonces = nonces if nonces is not None else NonceStore(":memory:", auth.signature_max_age_s,
                                                                    auth.replay_cache_max)
        self._lock = threading.Lock()

    def verify(self, topic: str, payload: bytes, user_properties: Mapping[str, str], now: float,
               redelivered: bool = False) -> Rejection | None:
        """None when the message may pass (authentic, or not a signed subject), else the Rejection to dead-letter.

        `redelivered`: the broker's DUP flag. database.Error when the nonce cannot be recorded: leave the message
        unacknowledged (the broker sends it again) rather than accept or dead-letter it."""
        kind = self._topics.classify(topic)
        if kind is None or kind not in self._owner:
            return None
        gateway = self._owner[kind]
        sig, sig_ts, nonce = (user_properties.get(k) for k in (SIG, SIG_TS, NONCE))
        if not sig or not sig_ts or not nonce:
            return Rejection("missing_signature", f"{kind[0]} {kind[1]} must be signed by gateway {gateway}: "
                                                  "user properties sig, sig_ts and nonce are required")
        if not SIG_TS_PATTERN.match(sig_ts) or not NONCE_PATTERN.match(nonce):
            return Rejection("bad_signature", "sig_ts must be epoch seconds and nonce 8-64 characters of "
                                              "A-Z a-z 0-9 _ -")
        expected = signature(self._keys[gateway], topic, sig_ts, nonce, payload)
        if not hmac.compare_digest(expected.encode(), sig.lower().encode()):
            return Rejection("bad_signature", f"signature does not match the key of gateway {gateway}")
        stale = staleness(float(sig_ts), now, self._ahead_s, self._max_age_s)
        if stale:
            return Rejection("stale_signature", stale)
        with self._lock:
            refused = self._nonces.check_and_add(f"{gateway}/{nonce}", float(sig_ts), expected, now, redelivered)
        return Rejection("replayed", f"{refused} (nonce {nonce})") if refused else None

    def close(self) -> None:
        """Close the nonce store (after the MQTT client has stopped: no message is being verified)."""
        with self._lock:
            self._nonces.close()


def build_verifier(settings: Settings, env: Mapping[str, str] | None = None) -> GatewayVerifier | None:
    """The verifier of the gateways that have a key_env (None when none has), its nonces kept in the data directory
    (`store.data_dir`/gateway-nonces.sqlite3); ValueError for an unset or short key."""
    keys: dict[str, bytes] = {}
    for g in settings.gateway_auth.gateways:
        if g.key_env is None:
            continue
        value = secret(g.key_env, env)
        if value is None or len(value.encode()) < MIN_KEY_BYTES:
            raise ValueError(f"gateway {g.username}: environment variable {g.key_env} must hold its HMAC key "
                             f"(at least {MIN_KEY_BYTES} bytes)")
        keys[g.username] = value.encode()
    if not keys:
        return None
    auth = settings.gateway_auth
    nonces = NonceStore(Path(settings.store.data_dir) / NONCE_DB, auth.signature_max_age_s, auth.replay_cache_max)
    return GatewayVerifier(settings, keys, nonces)
