"""Per-camera model versions: one row and one file each, kept for good; one active at most (none: the shipped model).

States: `candidate` while it is being judged, then `active` (in service) or `rejected` (worse than the model in
service); an active version that another replaces becomes `retired`. Any version can be put back in service
(rollback), version 0 being the shipped model.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tichwatch.store.database import Connection, Row
from tichwatch.store.rows import Query

STATES = ("candidate", "active", "rejected", "retired")
"""Every state of a version."""
SHIPPED = 0
"""The version number of the shipped model (no row, no file)."""


@dataclass(frozen=True)
class Version:
    """One model version of a camera."""

    camera_id: str
    version: int
    created_ts: float
    created_by: str
    state: str
    feature_set: str
    path: str
    sha256: str
    counts: dict[str, Any]
    figures: dict[str, Any]
    decision: str


def _version(r: Row) -> Version:
    return Version(r["camera_id"], r["version"], r["created_ts"], r["created_by"], r["state"], r["feature_set"],
                   r["path"], r["sha256"], json.loads(r["counts"]), json.loads(r["figures"]), r["decision"])


def listed(query: Query, camera_id: str) -> list[Version]:
    """The camera's versions, newest first."""
    return [_version(r) for r in query("SELECT * FROM camera_models WHERE camera_id = ? ORDER BY version DESC",
                                       (camera_id,))]


def get(query: Query, camera_id: str, version: int) -> Version | None:
    """One version (None when there is no such row)."""
    rows = query("SELECT * FROM camera_models WHERE camera_id = ? AND version = ?", (camera_id, version))
    return _version(rows[0]) if rows else None


def active(query: Query, camera_id: str) -> Version | None:
    """The version in service (None: the shipped model)."""
    rows = query("SELECT * FROM camera_models WHERE camera_id = ? AND state = 'active'", (camera_id,))
    return _version(rows[0]) if rows else None


def all_active(query: Query) -> list[Version]:
    """Every camera's version in service."""
    return [_version(r) for r in query("SELECT * FROM camera_models WHERE state = 'active'", ())]


def next_version(query: Query, camera_id: str) -> int:
    """The number the camera's next version gets."""
    rows = query("SELECT COALESCE(MAX(version), 0) FROM camera_models WHERE camera_id = ?", (camera_id,))
    return int(rows[0][0]) + 1


def write_file(models_dir: Path, camera_id: str, version: int, data: bytes) -> tuple[str, str]:
    """Write a version's file (never overwritten); its path relative to `models_dir` and its sha256."""
    rel = f"{camera_id}/v{version}.npz"
    path = models_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return rel, hashlib.sha256(data).hexdigest()


def read_file(models_dir: Path, v: Version) -> bytes:
    """A version's file, checked against its recorded sha256 (ValueError when it changed)."""
    data = (models_dir / v.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != v.sha256:
        raise ValueError(f"model file {v.path} does not match its recorded sha256")
    return data


def insert(conn: Connection, v: Version) -> None:
    """Record a new version."""
    conn.execute("INSERT INTO camera_models (camera_id, version, created_ts, created_by, state, feature_set, path, "
                 "sha256, counts, figures, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (v.camera_id, v.version, v.created_ts, v.created_by, v.state, v.feature_set, v.path, v.sha256,
                  json.dumps(v.counts), json.dumps(v.figures), v.decision))


def set_state(conn: Connection, camera_id: str, version: int, state: str, decision: str | None = None) -> None:
    """Change a version's state (and, when given, the words of the decision)."""
    if decision is None:
        conn.execute("UPDATE camera_models SET state = ? WHERE camera_id = ? AND version = ?",
                     (state, camera_id, version))
    else:
        conn.execute("UPDATE camera_models SET state = ?, decision = ? WHERE camera_id = ? AND version = ?",
                     (state, decision, camera_id, version))


def put_in_service(conn: Connection, camera_id: str, version: int) -> int:
    """Make `version` the active one (0: the shipped model); the one it replaces is retired. The replaced number."""
    rows = conn.execute("SELECT version FROM camera_models WHERE camera_id = ? AND state = 'active'",
                        (camera_id,)).fetchall()
    before = int(rows[0][0]) if rows else SHIPPED
    conn.execute("UPDATE camera_models SET state = 'retired' WHERE camera_id = ? AND state = 'active'", (camera_id,))
    if version != SHIPPED:
        set_state(conn, camera_id, version, "active")
    return before
