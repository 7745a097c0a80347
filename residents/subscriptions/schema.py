"""Store tables of residents' subscriptions (migration 14 of tichwatch.app.schema)."""
from __future__ import annotations

SUBSCRIPTIONS_SCHEMA = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,                 -- E.164 (+84…); personal data: admins only
    hamlet_id TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'vi' CHECK (lang IN ('vi', 'en')),
    channel TEXT NOT NULL CHECK (channel IN ('zns', 'sms')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active', 'unsubscribed')),
    consent_ts REAL NOT NULL,                   -- when consent was given (UTC seconds)
    consent_text TEXT NOT NULL,                 -- the words agreed to, as shown
    registered_by TEXT NOT NULL,                -- 'self' or the officer / village head's actor
    created_ts REAL NOT NULL,
    updated_ts REAL NOT NULL,
    unsubscribed_ts REAL,
    unsubscribe_via TEXT,                       -- 'link', 'sms', 'officer', 'erasure'
    unsubscribe_token_hash TEXT NOT NULL UNIQUE -- sha256 of the token in the resident's unsubscribe link
);
CREATE INDEX subscribers_hamlet ON subscribers (hamlet_id, status);
"""
"""Subscribers (one row per phone number)."""
