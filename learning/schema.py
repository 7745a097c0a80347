"""Store tables of the learning loop (migration 12 of tichwatch.app.schema).

- `dust_labels`: an officer's answer about one frame of a camera ("dust", optionally which cells, or "clear"), kept
  with the frame's per-cell feature rows (as the detector scored them), its JPEG (bounded) and who/when/why.
- `camera_ignore`: the cells of a camera's grid an officer excluded from dust judging (a chimney, a road, the sky).
- `camera_models`: every per-camera model version: its file, training counts, figures and state
  (candidate / active / rejected / retired); version 0 is the shipped model and has no row.
- `camera_learning`: when a camera's learning period ended (a new camera raises no dust alerts before).
"""
from __future__ import annotations

LEARNING_SCHEMA = """
CREATE TABLE dust_labels (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    frame_ts REAL NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('dust', 'clear')),
    cells TEXT,
    source TEXT NOT NULL,
    alert_id TEXT,
    feature_set TEXT NOT NULL,
    grid_rows INTEGER NOT NULL,
    grid_cols INTEGER NOT NULL,
    rows BLOB NOT NULL,
    probs BLOB NOT NULL,
    candidate BLOB NOT NULL,
    jpeg BLOB,
    created_ts REAL NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (camera_id, frame_ts)
);
CREATE INDEX dust_labels_camera ON dust_labels (camera_id, id);

CREATE TABLE camera_ignore (
    camera_id TEXT PRIMARY KEY,
    cells TEXT NOT NULL,
    updated_ts REAL NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE camera_models (
    camera_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    created_ts REAL NOT NULL,
    created_by TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('candidate', 'active', 'rejected', 'retired')),
    feature_set TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    counts TEXT NOT NULL,
    figures TEXT NOT NULL,
    decision TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (camera_id, version)
);

CREATE TABLE camera_learning (
    camera_id TEXT PRIMARY KEY,
    completed_ts REAL NOT NULL,
    frames INTEGER NOT NULL
);
"""
"""Migration 12: dust labels, ignore regions, per-camera model versions and learning periods (learning)."""
