"""The store's own tables (readings, frames, evidence, detections, the readiness probe's row).

The versioned list of migrations is assembled by the composition root (tichwatch.app.schema), each package handing in
its own schema, so the store never imports the packages above it.
"""
from __future__ import annotations

import re

from tichwatch.store.database import Script
from tichwatch.store.partitions import READINGS_PARTITIONED

_SAMPLES_SQLITE = """
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
"""
_READINGS = re.compile(r"CREATE TABLE readings \(.*?\) WITHOUT ROWID;", re.DOTALL)
SAMPLES_SCHEMA = Script(_SAMPLES_SQLITE, _READINGS.sub(READINGS_PARTITIONED.strip(), _SAMPLES_SQLITE))
"""Migration 1: readings, latest frames, evidence, detections (PostgreSQL: readings partitioned by month)."""

HEALTH_PROBE_SCHEMA = """
    CREATE TABLE health_probe (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        ts REAL NOT NULL
    );
    """
"""Migration 6: the readiness probe's row (a real write, on a connection of its own)."""
