"""Officer accounts: users with argon2 password hashes and roles, expiring session tokens, API keys, login throttling.

Tokens and API keys are random secrets shown once; only their SHA-256 is stored, so a copy of the database does not
let anyone sign in.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api import audit
from ingest.store import Store

ROLE_RANK = {"viewer": 1, "communicator": 2, "officer": 3, "admin": 4}


class Role(StrEnum):
    """What a signed-in person or machine may do: read, draft bulletins, act on alerts, administer."""

    VIEWER = "viewer"
    COMMUNICATOR = "communicator"
    OFFICER = "officer"
    ADMIN = "admin"

    def allows(self, needed: "Role") -> bool:
        """True when this role includes everything `needed` may do."""
        return ROLE_RANK[self.value] >= ROLE_RANK[needed.value]


@dataclass(frozen=True)
class Principal:
    """Who is making a request."""

    username: str
    role: Role
    via: str = "token"  # "token" (signed-in person) or "api_key" (machine)


@dataclass(frozen=True)
class Session:
    """A bearer token issued at sign-in (the token itself is only returned here, never stored)."""

    token: str
    username: str
    role: Role
    expires_ts: float


class LoginThrottled(Exception):
    """Too many failed sign-ins for this user or client; try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int):
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s} s")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_DUMMY_HASH = PasswordHasher().hash("timing-equaliser")


class Accounts:
    """Users, sessions and API keys in the store."""

    def __init__(self, store: Store, session_ttl_s: float = 12 * 3600, max_failures: int = 5,
                 failure_window_s: float = 900):
        self.store = store
        self.session_ttl_s = session_ttl_s
        self.max_failures = max_failures
        self.failure_window_s = failure_window_s
        self._hasher = PasswordHasher()

    # -- users ------------------------------------------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: Role, now: float, actor: str = "cli") -> None:
        """Create or replace a user (password hashed with argon2id), recorded in the audit log."""
        if len(password) < 10:
            raise ValueError("passwords need at least 10 characters")
        with self.store.transaction() as conn:
            audit.record(conn, actor, "account.set", username, {"role": role.value}, now)
            conn.execute("INSERT INTO users (username, password_hash, role, created_ts) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
                         "role = excluded.role, disabled = 0",
                         (username, self._hasher.hash(password), role.value, now))

    def has_users(self) -> bool:
        """True when at least one account exists."""
        return self.store.query_one("SELECT 1 FROM users LIMIT 1") is not None

    # -- sign-in ----------------------------------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str, now: float) -> Session | None:
        """A new session for correct credentials, None for wrong ones; LoginThrottled after too many failures."""
        with self.store.transaction() as conn:
            since = now - self.failure_window_s
            fails = conn.execute("SELECT COUNT(*), MIN(ts) FROM login_failures WHERE (username = ? OR client = ?) "
                                 "AND ts >= ?", (username, client, since)).fetchone()
            if fails[0] >= self.max_failures:
                raise LoginThrottled(int(fails[1] + self.failure_window_s - now) + 1)
            row = conn.execute("SELECT password_hash, role, disabled FROM users WHERE username = ?",
                               (username,)).fetchone()
        ok = self._verify(row["password_hash"] if row else _DUMMY_HASH, password) and row is not None \
            and not row["disabled"]
        with self.store.transaction() as conn:
            if not ok:
                conn.execute("INSERT INTO login_failures (username, client, ts) VALUES (?, ?, ?)",
                             (username, client, now))
                return None
            conn.execute("DELETE FROM login_failures WHERE username = ? OR ts < ?", (username, now - 86400))
            token = secrets.token_urlsafe(32)
            expires = now + self.session_ttl_s
            conn.execute("INSERT INTO sessions (token_hash, username, created_ts, expires_ts) VALUES (?, ?, ?, ?)",
                         (_digest(token), username, now, expires))
            conn.execute("DELETE FROM sessions WHERE expires_ts < ?", (now,))
        return Session(token, username, Role(row["role"]), expires)

    def _verify(self, password_hash: str, password: str) -> bool:
        """Check a password against an argon2 hash (always doing the work, so timing does not reveal users)."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def logout(self, token: str) -> None:
        """End a session."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    # -- credentials on requests ------------------------------------------------------------------------------------
    def from_token(self, token: str, now: float) -> Principal | None:
        """The principal of a valid, unexpired session token."""
        row = self.store.query_one(
            "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username "
            "WHERE s.token_hash = ? AND s.expires_ts > ? AND u.disabled = 0", (_digest(token), now))
        return Principal(row["username"], Role(row["role"]), "token") if row else None

    def add_api_key(self, name: str, role: Role, now: float, actor: str = "cli") -> str:
        """Create an API key for a machine, recorded in the audit log; returns the key (shown once)."""
        key = "twk_" + secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
            audit.record(conn, actor, "apikey.create", name, {"role": role.value}, now)
            conn.execute("INSERT INTO api_keys (key_hash, name, role, created_ts) VALUES (?, ?, ?, ?)",
                         (_digest(key), name, role.value, now))
        return key

    def from_api_key(self, key: str) -> Principal | None:
        """The principal of a valid API key."""
        row = self.store.query_one("SELECT name, role FROM api_keys WHERE key_hash = ? AND revoked = 0",
                                   (_digest(key),))
        return Principal(f"key:{row['name']}", Role(row["role"]), "api_key") if row else None
