"""Versioned schema of the embedded store. Append a new entry to add a version; never edit a released one."""
from __future__ import annotations

from alerts.bulletins.schema import BULLETINS_SCHEMA
from alerts.schema import ALERTS_SCHEMA
from api.auth_schema import AUTH_SCHEMA, AUTH_THROTTLE_INDEX
from config.overrides import OVERRIDES_SCHEMA

MIGRATIONS: list[str] = [
    # 1: readings, latest frames, evidence, detections
    """
    CREATE TABLE readings (
        station_id TEXT NOT NULL,
        ts REAL NOT NULL,
        level_m REAL NOT NULL,
        seq INTEGER,
        battery_v REAL,
        received_ts REAL,
        PRIMARY KEY (station_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE frames (
        camera_id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        path TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        received_ts REAL
    );
    CREATE TABLE dust_index (
        camera_id TEXT NOT NULL,
        ts REAL NOT NULL,
        dust_index REAL,
        status TEXT NOT NULL,
        PRIMARY KEY (camera_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE evidence (
        id INTEGER PRIMARY KEY,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        ts REAL NOT NULL,
        snapshot_path TEXT NOT NULL,
        context_paths TEXT NOT NULL DEFAULT '[]',
        created_ts REAL NOT NULL
    );
    CREATE INDEX evidence_ts ON evidence (ts);
    CREATE TABLE detections (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        ts REAL NOT NULL,
        active INTEGER NOT NULL,
        severity INTEGER NOT NULL,
        value REAL,
        unit TEXT NOT NULL DEFAULT '',
        level TEXT,
        reason TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT '{}',
        evidence_id INTEGER REFERENCES evidence (id)
    );
    CREATE INDEX detections_subject_ts ON detections (subject, ts);
    CREATE INDEX detections_ts ON detections (ts);
    """,
    # 2: alerts, audit log, silences, notification log and outbox (alerts/schema.py)
    ALERTS_SCHEMA,
    # 3: officer accounts, sessions, API keys, login throttling, officer audit log (api/auth_schema.py)
    AUTH_SCHEMA,
    # 4: bulletins, their audit log and published feed entries (alerts/bulletins/schema.py)
    BULLETINS_SCHEMA,
    # 5: alarm levels edited at run time (config/overrides.py)
    OVERRIDES_SCHEMA,
    # 6: the readiness probe's row (ingest/store.py: a real write, on a connection of its own)
    """
    CREATE TABLE health_probe (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        ts REAL NOT NULL
    );
    """,
    # 7: sign-in throttling counts failures per client address too (api/auth_schema.py)
    AUTH_THROTTLE_INDEX,
]
