"""Store tables of officer authentication (migration 3 of tichwatch.store.migrations, and AUTH_THROTTLE_INDEX after
it)."""
from __future__ import annotations

from tichwatch.store.database import with_rowid

AUTH_SCHEMA = with_rowid("""
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'communicator', 'officer', 'admin')),
    created_ts REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_ts REAL NOT NULL,
    expires_ts REAL NOT NULL
);
CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'communicator', 'officer', 'admin')),
    created_ts REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX login_failures_user_ts ON login_failures (username, ts);
CREATE TABLE officer_audit (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX officer_audit_ts ON officer_audit (ts);
""", "login_failures")

AUTH_THROTTLE_INDEX = """
CREATE INDEX login_failures_client_ts ON login_failures (client, ts);
"""
"""A migration to append: sign-in throttling also counts failures per client address (tichwatch.api.login_throttle),
which without this index scans the table (small, as it holds one window of attempts, but an attack from many addresses
makes it grow)."""
