"""Store tables of the alert engine (migrations 2, 8 and 17 of tichwatch.app.schema).

- `alerts`: one row per episode of a (kind, subject), unique by its start (17); at most one open (not resolved) row
  per key.
- `alert_log`: the audit log: every change of an alert or silence, with who, when and why.
- `silences`: officer-made silences with matchers, a reason and an expiry.
- `notifications`: the outbox and the log of what was sent (one row per message to one receiver), about an alert or
  (since migration 8, NOTIFICATIONS_OF_BULLETINS) a published bulletin.
- `ack_link_nonces`: acknowledge-link nonces already used (links are single-use).
"""
from __future__ import annotations

ALERTS_SCHEMA = """
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    severity INTEGER NOT NULL,
    level TEXT,
    value REAL,
    unit TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '{}',
    started_ts REAL NOT NULL,
    detected_ts REAL NOT NULL,
    opened_ts REAL NOT NULL,
    updated_ts REAL NOT NULL,
    firing_since_ts REAL NOT NULL,
    clearing_ts REAL,
    resolve_after_ts REAL,
    acknowledged_ts REAL,
    acknowledged_by TEXT,
    resolved_ts REAL,
    resolved_by TEXT,
    resolve_reason TEXT
);
CREATE UNIQUE INDEX alerts_open_key ON alerts (kind, subject) WHERE state != 'resolved';
CREATE INDEX alerts_key_opened ON alerts (kind, subject, opened_ts);
CREATE INDEX alerts_started ON alerts (started_ts);
CREATE INDEX alerts_state ON alerts (state);

CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_ts REAL NOT NULL,
    ends_ts REAL NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ts REAL NOT NULL,
    expired_ts REAL,
    expired_by TEXT
);
CREATE INDEX silences_ends ON silences (ends_ts);

CREATE TABLE alert_log (
    id INTEGER PRIMARY KEY,
    alert_id TEXT REFERENCES alerts (id),
    silence_id TEXT REFERENCES silences (id),
    ts REAL NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_log_alert ON alert_log (alert_id, id);
CREATE INDEX alert_log_silence ON alert_log (silence_id, id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    receiver TEXT NOT NULL,
    channel TEXT NOT NULL,
    notice TEXT NOT NULL,
    severity INTEGER NOT NULL,
    tier TEXT,
    created_ts REAL NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ts REAL NOT NULL,
    last_error TEXT,
    sent_ts REAL,
    remote_id TEXT
);
CREATE INDEX notifications_pending ON notifications (state, receiver, id);
CREATE INDEX notifications_alert_receiver ON notifications (alert_id, receiver, id);

CREATE TABLE ack_link_nonces (
    nonce TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    used_ts REAL NOT NULL,
    used_by TEXT NOT NULL
);
"""

NOTIFICATIONS_OF_BULLETINS = """
CREATE TABLE notifications_v8 (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    alert_id TEXT REFERENCES alerts (id),
    bulletin_id TEXT REFERENCES bulletins (id),
    receiver TEXT NOT NULL,
    channel TEXT NOT NULL,
    notice TEXT NOT NULL,
    severity INTEGER NOT NULL,
    tier TEXT,
    created_ts REAL NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ts REAL NOT NULL,
    last_error TEXT,
    sent_ts REAL,
    remote_id TEXT,
    CHECK ((alert_id IS NULL) != (bulletin_id IS NULL))
);
INSERT INTO notifications_v8 (id, idempotency_key, alert_id, receiver, channel, notice, severity, tier, created_ts,
                              payload, state, attempts, next_attempt_ts, last_error, sent_ts, remote_id)
    SELECT id, idempotency_key, alert_id, receiver, channel, notice, severity, tier, created_ts, payload, state,
           attempts, next_attempt_ts, last_error, sent_ts, remote_id FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_v8 RENAME TO notifications;
CREATE INDEX notifications_pending ON notifications (state, receiver, id);
CREATE INDEX notifications_alert_receiver ON notifications (alert_id, receiver, id);
CREATE INDEX notifications_bulletin ON notifications (bulletin_id, receiver, id) WHERE bulletin_id IS NOT NULL;
"""
"""Migration 8: the outbox carries bulletin deliveries too, so a notification is about an alert or a bulletin (exactly
one). SQLite cannot drop a NOT NULL, hence the copy; ids, keys and states are kept, so nothing waiting is lost."""

ALERT_EPISODES = """
CREATE TEMPORARY TABLE alert_episode_moves AS
SELECT id, (SELECT COUNT(*) FROM alerts AS earlier WHERE earlier.kind = alerts.kind
            AND earlier.subject = alerts.subject AND earlier.started_ts = alerts.started_ts
            AND earlier.id < alerts.id) AS moves
FROM alerts;
UPDATE alerts SET started_ts = started_ts + 0.000001 * (
    SELECT moves FROM alert_episode_moves WHERE alert_episode_moves.id = alerts.id)
WHERE id IN (SELECT id FROM alert_episode_moves WHERE moves > 0);
DROP TABLE alert_episode_moves;
CREATE UNIQUE INDEX alerts_episode ON alerts (kind, subject, started_ts);
"""
"""Migration 17: an alert's identity in the database is its episode — (kind, subject, started_ts), the time of the
sample that began it — so no two nodes, nor a node taking a station over, can record one episode twice (the open
key, `alerts_open_key`, only keeps two from being open at once). Rows of older databases that share an episode
(none should) keep their first row's start and move the others' by a microsecond each so the index can be made."""
