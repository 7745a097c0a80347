"""JSON documents of alerts, audit entries and silences: one shape for the API, webhooks and MQTT alert state."""
from __future__ import annotations

from typing import Any

from tichwatch.alerts.model import Alert, AuditEntry, Silence
from tichwatch.config.schema import Settings
from tichwatch.core.links import alert_page_url, evidence_url
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.residents.impact import impact_document, impact_of_alert


def subject_name(settings: Settings, subject: str) -> str:
    """What people call a subject: the station's name, the camera's site, else the id."""
    station = settings.station(subject)
    if station is not None:
        return station.name
    camera = settings.camera(subject)
    return camera.site if camera is not None else subject


def alert_url(settings: Settings, alert_id: str) -> str:
    """The alert's page for people."""
    return alert_page_url(settings.http.public_url, alert_id)


def _times(tz: str, **named: float | None) -> dict[str, str | None]:
    """`<name>_at` (UTC) and `<name>_at_local` for each named time (None stays None)."""
    out: dict[str, str | None] = {}
    for name, ts in named.items():
        out[f"{name}_at"] = None if ts is None else iso_utc(ts)
        out[f"{name}_at_local"] = None if ts is None else iso_local(ts, tz)
    return out


def alert_document(alert: Alert, settings: Settings, title: str | None = None) -> dict[str, Any]:
    """An alert as JSON: state, figures, times (UTC and local), who acknowledged or resolved it, and its link; an
    open flood alert whose level is configured under `impact:` carries `impact` (the hamlets, roads, schools and what to
    do, from the settings in force)."""
    doc: dict[str, Any] = {
        "id": alert.id, "kind": alert.kind, "subject": alert.subject,
        "subject_name": subject_name(settings, alert.subject), "state": alert.state.value,
        "severity": alert.severity.name.lower(), "level": alert.level, "value": alert.value, "unit": alert.unit,
        "reason": alert.reason, "evidence": alert.evidence, "acknowledged_by": alert.acknowledged_by,
        "resolved_by": alert.resolved_by, "resolve_reason": alert.resolve_reason, "url": alert_url(settings, alert.id),
        **_times(settings.timezone, started=alert.started_ts, detected=alert.detected_ts, updated=alert.updated_ts,
                 clearing_since=alert.clearing_ts, resolves=alert.resolve_after_ts, acknowledged=alert.acknowledged_ts,
                 resolved=alert.resolved_ts),
    }
    impact = impact_of_alert(settings.impact, alert.kind, alert.subject, alert.level) if alert.open else None
    if impact is not None:
        doc["impact"] = impact_document(impact)
    evidence_id = alert.evidence.get("evidence_id")
    if isinstance(evidence_id, int):
        doc["evidence_url"] = evidence_url("", evidence_id)  # a dust detection's outlined snapshot
    if title is not None:
        doc["title"] = title
    return doc


def audit_document(e: AuditEntry, tz: str) -> dict[str, Any]:
    """An audit entry as JSON."""
    return {"ts": iso_utc(e.ts), "ts_local": iso_local(e.ts, tz), "action": e.action, "actor": e.actor,
            "reason": e.reason, "data": e.data, "alert_id": e.alert_id, "silence_id": e.silence_id}


def silence_document(s: Silence, now: float, tz: str) -> dict[str, Any]:
    """A silence as JSON."""
    return {"id": s.id, "matchers": s.matchers.model_dump(), "reason": s.reason, "created_by": s.created_by,
            "expired_by": s.expired_by, "active": s.active(now),
            **_times(tz, starts=s.starts_ts, ends=s.ends_ts, created=s.created_ts, expired=s.expired_ts)}
