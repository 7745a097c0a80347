"""Officer accounts: users with argon2 password hashes and roles, expiring session tokens, API keys, sign-in.

Tokens and API keys are random secrets shown once; only their SHA-256 is stored, so a copy of the database does not
let anyone sign in. Every request looks its credential up again, so disabling an account, resetting its password or
revoking an API key takes effect on the very next request. Changes to accounts and keys are recorded in the officer
audit log (tichwatch.api.audit) in the transaction that makes them, with who, before and after, never a secret.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tichwatch.api import audit
from tichwatch.api.login_throttle import LoginThrottle, LoginThrottled, ThrottleLimits
from tichwatch.api.passwords import DUMMY_HASH, HashingBusy, PasswordWork
from tichwatch.config.accounts import AccountSettings
from tichwatch.store.database import Connection
from tichwatch.store.store import Store

__all__ = ["Accounts", "ApiKeyInfo", "Change", "HashingBusy", "LoginThrottled", "Principal", "Role", "Session",
           "UserInfo"]

log = logging.getLogger(__name__)

ROLE_RANK = {"viewer": 1, "communicator": 2, "officer": 3, "admin": 4}
NAME = re.compile(r"^[^\s:\x00-\x1f\x7f]{1,64}$")
"""Usernames and API key names: 1 to 64 characters, no spaces or control characters (they appear in logs) and no
colon (the audit log names a key's actions `key:<name>`, which no username may imitate)."""
MIN_PASSWORD_CHARS = 10


class Role(StrEnum):
    """What a signed-in person or machine may do: read, draft bulletins, act on alerts, administer."""

    VIEWER = "viewer"
    COMMUNICATOR = "communicator"
    OFFICER = "officer"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
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


@dataclass(frozen=True)
class UserInfo:
    """An account as administrators see it (never its password hash)."""

    username: str
    role: Role
    created_ts: float
    disabled: bool
    sessions: int


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as administrators see it (never the key or its hash)."""

    name: str
    role: Role
    created_ts: float
    revoked: bool


@dataclass(frozen=True)
class Change:
    """What an administrative action changed on an account or key, as recorded in the audit log."""

    target: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    sessions_revoked: int = 0

    @property
    def changed(self) -> bool:
        """False when the action found things already as asked (nothing was recorded)."""
        return self.before != self.after or self.sessions_revoked > 0


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_name(kind: str, name: str) -> None:
    if not NAME.match(name):
        raise ValueError(f"{kind} must be 1 to 64 characters without spaces, colons or control characters")


def _revoke_sessions(conn: Connection, username: str) -> int:
    """End every session of an account; how many there were."""
    return conn.execute("DELETE FROM sessions WHERE username = ?", (username,)).rowcount


def _record(conn: Connection, actor: str, action: str, change: Change, now: float,
            reason: str | None = None, **extra: Any) -> None:
    """Record a change in the officer audit log (inside the transaction that makes it)."""
    detail = {"before": change.before, "after": change.after, **extra}
    if change.sessions_revoked:
        detail["sessions_revoked"] = change.sessions_revoked
    if reason:
        detail["reason"] = reason
    audit.record(conn, actor, action, change.target, detail, now)


class Accounts:
    """Users, sessions and API keys in the store; sign-in throttled and its hashing bounded."""

    def __init__(self, store: Store, settings: AccountSettings | None = None):
        settings = settings or AccountSettings()
        self.store = store
        self.session_ttl_s = settings.session_ttl_s
        self.throttle = LoginThrottle(store, ThrottleLimits(
            settings.login_failures_per_account_address, settings.login_failures_per_address,
            settings.login_failures_per_account, settings.login_window_s))
        self.passwords = PasswordWork(settings.password_hash_concurrency, settings.password_hash_queue,
                                      settings.password_hash_wait_s)

    # -- users ------------------------------------------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: Role, now: float, actor: str = "cli") -> Change:
        """Create a user, or reset an existing one's password and role (ending all its sessions); audited.

        A disabled account stays disabled: enabling it is a decision of its own."""
        _check_name("a username", username)
        if len(password) < MIN_PASSWORD_CHARS:
            raise ValueError(f"passwords need at least {MIN_PASSWORD_CHARS} characters")
        password_hash = self.passwords.hash(password)  # before the transaction: never hold the writer while hashing
        with self.store.transaction() as conn:
            row = conn.execute("SELECT role, disabled FROM users WHERE username = ?", (username,)).fetchone()
            before = {"role": row["role"], "disabled": bool(row["disabled"])} if row else None
            conn.execute("INSERT INTO users (username, password_hash, role, created_ts) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
                         "role = excluded.role", (username, password_hash, role.value, now))
            after = {"role": role.value, "disabled": bool(row and row["disabled"])}
            change = Change(username, before, after, _revoke_sessions(conn, username))
            _record(conn, actor, "account.set", change, now, created=row is None)
        if row is not None:
            log.warning("account %s reset by %s: password replaced, %d session(s) ended", username, actor,
                        change.sessions_revoked)
        return change

    def set_disabled(self, username: str, disabled: bool, actor: str, now: float, reason: str | None = None) -> Change:
        """Disable an account (its sessions end at once and it cannot sign in) or enable it again; audited.

        KeyError for an unknown account; ValueError when it would leave no enabled admin."""
        action = "account.disable" if disabled else "account.enable"
        with self.store.transaction() as conn:
            row = conn.execute("SELECT role, disabled FROM users WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise KeyError(username)
            if disabled and row["role"] == Role.ADMIN.value and not row["disabled"]:
                others = conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 "
                                      "AND username != ?", (username,)).fetchone()[0]
                if not others:
                    raise ValueError(f"{username} is the last enabled admin: add another admin first, or reset its "
                                     "password (tichwatch user-add) to end its sessions")
            conn.execute("UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username))
            revoked = _revoke_sessions(conn, username) if disabled else 0
            change = Change(username, {"disabled": bool(row["disabled"])}, {"disabled": disabled}, revoked)
            if change.changed:
                _record(conn, actor, action, change, now, reason)
        if change.changed:
            log.warning("%s by %s: %s (%d session(s) ended)", action, actor, username, revoked)
        return change

    def users(self, username: str | None = None) -> list[UserInfo]:
        """Every account (or only `username`), by name, with how many sessions it has open."""
        rows = self.store.query_all(
            "SELECT u.username, u.role, u.created_ts, u.disabled, COUNT(s.token_hash) AS sessions FROM users u "
            "LEFT JOIN sessions s ON s.username = u.username WHERE CAST(?1 AS TEXT) IS NULL OR u.username = ?1 "
            "GROUP BY u.username ORDER BY u.username", (username,))
        return [UserInfo(r["username"], Role(r["role"]), r["created_ts"], bool(r["disabled"]), r["sessions"])
                for r in rows]

    def has_users(self) -> bool:
        """True when at least one account exists."""
        return self.store.query_one("SELECT 1 FROM users LIMIT 1") is not None

    # -- sign-in ----------------------------------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str, now: float) -> Session | None:
        """A new session for correct credentials of an enabled account, None otherwise.

        LoginThrottled (without checking the password) when a bound on failures is reached, HashingBusy when every
        hashing slot is taken; neither counts as a failure."""
        attempt = self.throttle.reserve(username, client, now)
        row = self.store.query_one("SELECT password_hash, role, disabled FROM users WHERE username = ?", (username,))
        try:
            ok = self.passwords.verify(row["password_hash"] if row else DUMMY_HASH, password)
        except HashingBusy:
            self.throttle.release(attempt)
            raise
        if not ok or row is None or row["disabled"]:
            return None  # the attempt's reservation stays as its failure record
        token = secrets.token_urlsafe(32)
        expires = now + self.session_ttl_s
        with self.store.transaction() as conn:
            # Only if the password checked is still the account's and it is still enabled: a reset or a disable
            # committed while the hash ran must not be undone by this sign-in.
            opened = conn.execute(
                "INSERT INTO sessions (token_hash, username, created_ts, expires_ts) SELECT ?, username, ?, ? "
                "FROM users WHERE username = ? AND password_hash = ? AND disabled = 0",
                (_digest(token), now, expires, username, row["password_hash"])).rowcount
            if not opened:
                return None
            self.throttle.forget(conn, username, client)
            conn.execute("DELETE FROM sessions WHERE expires_ts < ?", (now,))
        return Session(token, username, Role(row["role"]), expires)

    def logout(self, token: str) -> None:
        """End a session."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    # -- credentials on requests ------------------------------------------------------------------------------------
    def from_token(self, token: str, now: float) -> Principal | None:
        """The principal of a valid, unexpired session token of an enabled account."""
        row = self.store.query_one(
            "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username "
            "WHERE s.token_hash = ? AND s.expires_ts > ? AND u.disabled = 0", (_digest(token), now))
        return Principal(row["username"], Role(row["role"]), "token") if row else None

    def from_api_key(self, key: str) -> Principal | None:
        """The principal of a valid, unrevoked API key."""
        row = self.store.query_one("SELECT name, role FROM api_keys WHERE key_hash = ? AND revoked = 0",
                                   (_digest(key),))
        return Principal(f"key:{row['name']}", Role(row["role"]), "api_key") if row else None

    # -- API keys ---------------------------------------------------------------------------------------------------
    def add_api_key(self, name: str, role: Role, now: float, actor: str = "cli") -> str:
        """Create an API key for a machine, recorded in the audit log; returns the key (shown once).

        ValueError when the name is taken (a revoked key keeps its name, so the audit log stays unambiguous)."""
        _check_name("an API key name", name)
        key = "twk_" + secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
            taken = conn.execute("SELECT revoked FROM api_keys WHERE name = ?", (name,)).fetchone()
            if taken is not None:
                state = "revoked" if taken["revoked"] else "in use"
                raise ValueError(f"an API key named {name!r} exists ({state}): choose another name")
            audit.record(conn, actor, "apikey.create", name, {"role": role.value}, now)
            conn.execute("INSERT INTO api_keys (key_hash, name, role, created_ts) VALUES (?, ?, ?, ?)",
                         (_digest(key), name, role.value, now))
        return key

    def api_keys(self, name: str | None = None) -> list[ApiKeyInfo]:
        """Every API key (or only `name`), by name (never the key or its hash)."""
        rows = self.store.query_all("SELECT name, role, created_ts, revoked FROM api_keys "
                                    "WHERE CAST(?1 AS TEXT) IS NULL OR name = ?1 ORDER BY name", (name,))
        return [ApiKeyInfo(r["name"], Role(r["role"]), r["created_ts"], bool(r["revoked"])) for r in rows]

    def revoke_api_key(self, name: str, actor: str, now: float, reason: str | None = None) -> Change:
        """Revoke an API key: it is refused from the next request on; audited. KeyError for an unknown name."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT role, revoked FROM api_keys WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise KeyError(name)
            conn.execute("UPDATE api_keys SET revoked = 1 WHERE name = ?", (name,))
            change = Change(name, {"revoked": bool(row["revoked"])}, {"revoked": True})
            if change.changed:
                _record(conn, actor, "apikey.revoke", change, now, reason, role=row["role"])
        if change.changed:
            log.warning("API key %s revoked by %s", name, actor)
        return change
