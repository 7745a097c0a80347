"""Rows of the alert tables ↔ model objects. Writes take the caller's transaction; reads take a `Query`, so the same
function serves inside a transaction (`rows_of(conn)`) and on the store's read connection (`store.query_all`)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from tichwatch.alerts.model import Alert, AlertState, AuditEntry, Silence
from tichwatch.config.alerts import Matchers
from tichwatch.core.detection import Severity
from tichwatch.store.database import Connection, Row, placeholders
from tichwatch.store.rows import Query

_ALERT_COLUMNS = tuple(f.name for f in fields(Alert))


def rows_of(conn: Connection) -> Query:
    """A Query on an open connection (inside a transaction)."""
    def query(sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        return conn.execute(sql, params).fetchall()

    return query


def _alert(row: Row) -> Alert:
    values = {c: row[c] for c in _ALERT_COLUMNS}
    values.update(state=AlertState(row["state"]), severity=Severity(row["severity"]),
                  evidence=json.loads(row["evidence"]))
    return Alert(**values)


def save_alert(conn: Connection, alert: Alert) -> None:
    """Insert or update an alert."""
    values = asdict(alert)
    values.update(state=alert.state.value, severity=int(alert.severity),
                  evidence=json.dumps(alert.evidence, default=str, ensure_ascii=False))
    cols = ", ".join(_ALERT_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _ALERT_COLUMNS if c != "id")
    conn.execute(f"INSERT INTO alerts ({cols}) VALUES ({placeholders(len(_ALERT_COLUMNS))}) "
                 f"ON CONFLICT (id) DO UPDATE SET {updates}", tuple(values[c] for c in _ALERT_COLUMNS))


def add_audit(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Append audit entries."""
    conn.executemany(
        "INSERT INTO alert_log (alert_id, silence_id, ts, action, actor, reason, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(e.alert_id, e.silence_id, e.ts, e.action, e.actor, e.reason, json.dumps(e.data, default=str,
                                                                                  ensure_ascii=False))
         for e in entries])


def get_alert(query: Query, alert_id: str) -> Alert | None:
    """The alert with this id, or None."""
    rows = query("SELECT * FROM alerts WHERE id = ?", (alert_id,))
    return _alert(rows[0]) if rows else None


def open_alert(query: Query, kind: str, subject: str) -> Alert | None:
    """The open alert of a key, or None."""
    rows = query("SELECT * FROM alerts WHERE kind = ? AND subject = ? AND state != 'resolved'", (kind, subject))
    return _alert(rows[0]) if rows else None


def open_alerts(query: Query) -> list[Alert]:
    """Every open alert, oldest first."""
    return [_alert(r) for r in query("SELECT * FROM alerts WHERE state != 'resolved' ORDER BY opened_ts, id", ())]


def clearing_alerts(query: Query, subjects: Sequence[str]) -> list[Alert]:
    """The open alerts of these subjects whose detector cleared (their hold is running), oldest first."""
    if not subjects:
        return []
    marks = ", ".join("?" for _ in subjects)
    return [_alert(r) for r in query(f"SELECT * FROM alerts WHERE state IN ('firing', 'acknowledged') AND "
                                     f"resolve_after_ts IS NOT NULL AND subject IN ({marks}) ORDER BY opened_ts, id",
                                     tuple(subjects))]


def clears_since(query: Query, kind: str, subject: str, since_ts: float) -> int:
    """How often the detector of a key cleared since `since_ts`, in the readings' time (for flap detection; entries
    written before they recorded it count at their own time)."""
    return int(query("SELECT COUNT(*) FROM alert_log l JOIN alerts a ON a.id = l.alert_id WHERE a.kind = ? AND "
                     "a.subject = ? AND l.action = 'cleared' AND "
                     "COALESCE(CAST(json_extract(l.data, '$.sample_ts') AS DOUBLE PRECISION), l.ts) "
                     ">= ?", (kind, subject, since_ts))[0][0])


@dataclass(frozen=True)
class AlertFilter:
    """Filters of the alert list; None means any."""

    state: str | None = None  # "active" (firing or acknowledged), "firing", "acknowledged", "resolved"
    kind: str | None = None  # exact kind or prefix ending in a dot
    subject: str | None = None
    min_severity: Severity | None = None
    since_ts: float | None = None  # started at or after
    until_ts: float | None = None  # started before
    limit: int = 100
    after: tuple[object, ...] | None = None  # the sort key (`sort_key`) of the last alert of the previous page
    by_severity: bool = False  # most severe first, then newest first (the active list); else newest first


def sort_key(alert: Alert, by_severity: bool) -> tuple[object, ...]:
    """An alert's position in a list: (started_ts, id), with the severity first when sorted by severity."""
    return (int(alert.severity), alert.started_ts, alert.id) if by_severity else (alert.started_ts, alert.id)


def find_alerts(query: Query, f: AlertFilter) -> list[Alert]:
    """Alerts matching a filter, newest first (most severe first, then newest, with `by_severity`)."""
    where, params = ["1 = 1"], []  # type: list[str], list[object]
    if f.state == "active":
        where.append("state != 'resolved'")
    elif f.state:
        where.append("state = ?")
        params.append(f.state)
    if f.kind:
        if f.kind.endswith("."):  # a family: every kind that starts with it
            where.append("substr(kind, 1, ?) = ?")
            params += [len(f.kind), f.kind]
        else:
            where.append("kind = ?")
            params.append(f.kind)
    for column, value, op in (("subject", f.subject, "="), ("severity", f.min_severity, ">="),
                              ("started_ts", f.since_ts, ">="), ("started_ts", f.until_ts, "<")):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(int(value) if isinstance(value, Severity) else value)
    key = "severity, started_ts, id" if f.by_severity else "started_ts, id"
    if f.after is not None:
        where.append(f"({key}) < ({', '.join('?' for _ in f.after)})")
        params += list(f.after)
    order = ", ".join(f"{column} DESC" for column in key.split(", "))
    sql = f"SELECT * FROM alerts WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    return [_alert(r) for r in query(sql, (*params, f.limit))]


def _audit(row: Row) -> AuditEntry:
    return AuditEntry(row["ts"], row["action"], row["actor"], row["reason"], json.loads(row["data"]),
                      row["alert_id"], row["silence_id"])


def audit_of(query: Query, alert_id: str) -> list[AuditEntry]:
    """An alert's audit log, oldest first."""
    return [_audit(r) for r in query("SELECT * FROM alert_log WHERE alert_id = ? ORDER BY id", (alert_id,))]


def save_silence(conn: Connection, s: Silence) -> None:
    """Insert or update a silence."""
    conn.execute(
        "INSERT INTO silences (id, matchers, starts_ts, ends_ts, reason, created_by, created_ts, expired_ts, "
        "expired_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET expired_ts = excluded.expired_ts, expired_by = excluded.expired_by",
        (s.id, s.matchers.model_dump_json(), s.starts_ts, s.ends_ts, s.reason, s.created_by, s.created_ts,
         s.expired_ts, s.expired_by))


def _silence(row: Row) -> Silence:
    return Silence(row["id"], Matchers.model_validate_json(row["matchers"]), row["starts_ts"], row["ends_ts"],
                   row["reason"], row["created_by"], row["created_ts"], row["expired_ts"], row["expired_by"])


def get_silence(query: Query, silence_id: str) -> Silence | None:
    """The silence with this id, or None."""
    rows = query("SELECT * FROM silences WHERE id = ?", (silence_id,))
    return _silence(rows[0]) if rows else None


def live_silences(query: Query, now: float) -> list[Silence]:
    """Silences not yet over at `now` (active or still to start), soonest end first."""
    return [_silence(r) for r in query("SELECT * FROM silences WHERE expired_ts IS NULL AND ends_ts > ? "
                                       "ORDER BY ends_ts", (now,))]


def lapsed_silences(query: Query, now: float) -> list[Silence]:
    """Silences whose end has passed but whose expiry is not yet recorded."""
    return [_silence(r) for r in query("SELECT * FROM silences WHERE expired_ts IS NULL AND ends_ts <= ?", (now,))]
