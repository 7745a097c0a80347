"""Store changes for delivering to residents (migration 15 of tichwatch.app.schema): owned by the resident delivery
(ZNS, SMS fallback, receipts).

- `notifications` gains `subscriber_id`: a row addressed to one subscriber (the phone number is looked up at send time
  and never stored in the outbox). Such a row may be about neither an alert nor a bulletin (a confirmation code), so
  the table is copied without migration 8's "exactly one of alert or bulletin" check (ids, keys and states kept).
- `resident_fanouts`: which step of an alert (a level, the all-clear) or which bulletin was handed to residents, so a
  step is fanned out once however often the engine records the alert.
- `zns_messages`: ZNS answers (msg_id) and delivery receipts, per outbox row (they go with their row when retention
  deletes it).
- `resident_costs`: messages and VND per day and channel; `zns_quota`: the last quota Zalo reported.
"""
from __future__ import annotations

from tichwatch.store.database import with_rowid

RESIDENT_DELIVERY_SCHEMA = with_rowid("""
CREATE TABLE notifications_v15 (
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
    subscriber_id INTEGER,
    CHECK (alert_id IS NULL OR bulletin_id IS NULL),
    CHECK (alert_id IS NOT NULL OR bulletin_id IS NOT NULL OR subscriber_id IS NOT NULL)
);
INSERT INTO notifications_v15 (id, idempotency_key, alert_id, bulletin_id, receiver, channel, notice, severity, tier,
                               created_ts, payload, state, attempts, next_attempt_ts, last_error, sent_ts, remote_id)
    SELECT id, idempotency_key, alert_id, bulletin_id, receiver, channel, notice, severity, tier, created_ts, payload,
           state, attempts, next_attempt_ts, last_error, sent_ts, remote_id FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_v15 RENAME TO notifications;
CREATE INDEX notifications_pending ON notifications (state, receiver, id);
CREATE INDEX notifications_alert_receiver ON notifications (alert_id, receiver, id);
CREATE INDEX notifications_bulletin ON notifications (bulletin_id, receiver, id) WHERE bulletin_id IS NOT NULL;
CREATE INDEX notifications_subscriber ON notifications (subscriber_id, id) WHERE subscriber_id IS NOT NULL;

CREATE TABLE resident_fanouts (
    about TEXT NOT NULL,              -- an alert id, or 'bulletin:<id>'
    step TEXT NOT NULL,               -- 'level:<1..3>', 'clear' or 'bulletin'
    created_ts REAL NOT NULL,
    recipients INTEGER NOT NULL,      -- messages queued
    PRIMARY KEY (about, step)
);

CREATE TABLE zns_messages (
    notification_id INTEGER PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    tracking_id TEXT NOT NULL,        -- the outbox row's idempotency key
    msg_id TEXT,
    sent_ts REAL NOT NULL,
    received_ts REAL                  -- from Zalo's user_received_message event
);
CREATE INDEX zns_messages_msg ON zns_messages (msg_id);
CREATE INDEX zns_messages_tracking ON zns_messages (tracking_id);

CREATE TABLE resident_costs (
    day TEXT NOT NULL,                -- local date (Asia/Ho_Chi_Minh), YYYY-MM-DD
    channel TEXT NOT NULL,            -- 'zns' or 'sms'
    messages INTEGER NOT NULL,
    cost_vnd INTEGER NOT NULL,
    PRIMARY KEY (day, channel)
);

CREATE TABLE zns_quota (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    daily_quota INTEGER,
    remaining_quota INTEGER,
    updated_ts REAL NOT NULL
);
""", "resident_fanouts")
"""Outbox rows addressed to subscribers, fan-out steps, ZNS receipts, costs and quota."""
