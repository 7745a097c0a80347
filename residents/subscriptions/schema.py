"""Store tables of residents' subscriptions (migration 14 of tichwatch.app.schema).

Ids are AUTOINCREMENT: an erased subscriber's id is never given to someone else, so an unsubscribe link (signed over
the id, residents/subscriptions/links.py) can never reach another person. No unsubscribe token is stored: links are
verified by their signature.
"""
from __future__ import annotations

SUBSCRIPTIONS_SCHEMA = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL UNIQUE,                 -- E.164 (+84…); personal data: admins only
    hamlet_id TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'vi' CHECK (lang IN ('vi', 'en')),
    channel TEXT NOT NULL CHECK (channel IN ('zns', 'sms')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active', 'unsubscribed')),
    consent_ts REAL NOT NULL,                   -- when consent was given (UTC seconds)
    consent_text TEXT NOT NULL,                 -- the words agreed to, as shown
    consent_version TEXT NOT NULL DEFAULT '',   -- the version of those words (subscriptions.consent_version)
    registered_by TEXT NOT NULL,                -- 'self' or the officer / village head's actor
    created_ts REAL NOT NULL,
    updated_ts REAL NOT NULL,
    unsubscribed_ts REAL,
    unsubscribe_via TEXT                        -- 'link', 'sms', 'officer'
);
CREATE INDEX subscribers_hamlet ON subscribers (hamlet_id, status);
CREATE INDEX subscribers_pending ON subscribers (status, updated_ts);

CREATE TABLE subscriber_codes (
    subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,                    -- keyed hash of the code (never the code)
    expires_ts REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,        -- wrong codes tried
    hamlet_id TEXT NOT NULL,                    -- what the registration asks for, applied when confirmed
    lang TEXT NOT NULL,
    channel TEXT NOT NULL,
    consent_ts REAL NOT NULL,
    consent_text TEXT NOT NULL,
    consent_version TEXT NOT NULL,
    created_ts REAL NOT NULL
);

CREATE TABLE subscription_sends (
    phone_key TEXT NOT NULL,                    -- keyed hash of the phone number (not the number)
    ts REAL NOT NULL
);
CREATE INDEX subscription_sends_phone ON subscription_sends (phone_key, ts);
"""
"""Subscribers (one row per phone number), pending confirmation codes, and the codes sent per phone (for the limit)."""
