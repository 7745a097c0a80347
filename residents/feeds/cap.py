"""CAP 1.2 (OASIS Common Alerting Protocol) messages for public alert changes, built with ElementTree.

Every public change of an alert (opened, raised, lowered, updated, re-fired, resolved: the audit log's entries) is one
message. The first is msgType Alert; later ones are Update, and the resolution is Cancel with responseType AllClear;
each later message lists all earlier ones of the alert in <references>. A message has an <info> block in vi-VN and one
in en-US (headline and description from the alert templates, audience "public") and the alert's area: a circle around
the station (StationConfig.area_radius_m) or the camera's site (bulletins.dust_area_radius_m). The mapping of alarm
levels to urgency, severity and certainty is CAP_CODES (documented in docs/bulletins.md).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.model import Alert, AlertState, AuditEntry
from tichwatch.alerts.stages import Candidate
from tichwatch.alerts.templates import Composer
from tichwatch.alerts.views import alert_url, subject_name
from tichwatch.config.alerts import LogChannel, NoticeKind, ReceiverConfig
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Severity
from tichwatch.residents.bulletins.compose import phrases

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
"""The CAP 1.2 XML namespace."""
CAP_MEDIA_TYPE = "application/cap+xml"
"""Media type of a CAP message."""
ET.register_namespace("", CAP_NS)
CAP_LANGUAGES = {"vi": "vi-VN", "en": "en-US"}
"""The info blocks of a message: our language → its RFC 3066 code."""

PUBLIC_ACTIONS: dict[str, tuple[str, NoticeKind]] = {
    "opened": ("Alert", "firing"), "raised": ("Update", "raised"), "lowered": ("Update", "lowered"),
    "updated": ("Update", "firing"), "refired": ("Update", "firing"), "resolved": ("Cancel", "resolved"),
}
"""Audit actions that the public hears of: action → (msgType, notice for the templates). Acknowledgements, holds and
silences are officers' business and make no message."""


@dataclass(frozen=True)
class CapCodes:
    """The CAP classification of an alert: urgency, severity, certainty and the response recommended."""

    urgency: str
    severity: str
    certainty: str
    response: str | None


CAP_CODES: dict[tuple[str, str | None], CapCodes] = {
    ("flood.level", "BD1"): CapCodes("Expected", "Moderate", "Observed", "Monitor"),
    ("flood.level", "BD2"): CapCodes("Expected", "Severe", "Observed", "Prepare"),
    ("flood.level", "BD3"): CapCodes("Immediate", "Extreme", "Observed", "Evacuate"),
    ("flood.level", "RECORD"): CapCodes("Immediate", "Extreme", "Observed", "Evacuate"),
    ("flood.forecast", "BD1"): CapCodes("Future", "Moderate", "Likely", "Monitor"),
    ("flood.forecast", "BD2"): CapCodes("Expected", "Severe", "Likely", "Prepare"),
    ("flood.forecast", "BD3"): CapCodes("Expected", "Extreme", "Likely", "Prepare"),
    ("flood.forecast", "RECORD"): CapCodes("Expected", "Extreme", "Likely", "Prepare"),
    ("flood.rapid_rise", None): CapCodes("Expected", "Moderate", "Observed", "Monitor"),
    ("dust.plume", None): CapCodes("Immediate", "Minor", "Observed", "Avoid"),
}
"""(kind, alarm level) → CAP codes; kinds without levels are keyed with None."""
ALL_CLEAR = CapCodes("Past", "Minor", "Observed", "AllClear")
"""The codes of a Cancel (the alert resolved)."""
UNKNOWN = CapCodes("Unknown", "Unknown", "Unknown", None)
"""The codes of any other public kind."""


def cap_codes(kind: str, level: str | None, msg_type: str) -> CapCodes:
    """The CAP codes of an alert change."""
    if msg_type == "Cancel":
        return ALL_CLEAR
    return CAP_CODES.get((kind, level)) or CAP_CODES.get((kind, None)) or UNKNOWN


def cap_time(ts: float, tz: str) -> str:
    """CAP dateTime: local time with its offset, whole seconds, UTC written -00:00 (as CAP 1.2 requires)."""
    text = datetime.fromtimestamp(int(ts), ZoneInfo(tz)).isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class CapMessage:
    """One public change of an alert: its message id (for URLs), msgType, notice and the alert as it was then."""

    message_id: str
    sent_ts: float
    msg_type: str
    notice: NoticeKind
    alert: Alert

    def identifier(self) -> str:
        """The CAP <identifier> (unique for this sender)."""
        return f"tichwatch-{self.message_id}"


def cap_messages(alert: Alert, audit: Sequence[AuditEntry]) -> list[CapMessage]:
    """The CAP messages of an alert from its audit log, oldest first, each with the alert as it was after it."""
    out: list[CapMessage] = []
    state = alert
    for entry in audit:
        if entry.action not in PUBLIC_ACTIONS:
            continue
        msg_type, notice = PUBLIC_ACTIONS[entry.action]
        data = entry.data
        state = replace(state, severity=Severity[str(data["severity"]).upper()] if "severity" in data
                        else state.severity, level=data.get("level", state.level),
                        value=data.get("value", state.value), detected_ts=entry.ts, updated_ts=entry.ts,
                        state=AlertState.RESOLVED if msg_type == "Cancel" else AlertState.FIRING,
                        resolved_ts=entry.ts if msg_type == "Cancel" else None,
                        resolve_reason=entry.reason if msg_type == "Cancel" else None)
        out.append(CapMessage(f"{alert.id}-{len(out) + 1}", entry.ts, msg_type, notice, state))
    return out


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _area(info: ET.Element, a: Alert, settings: Settings, bulletins: BulletinSettings, p: Any) -> None:
    station, camera = settings.station(a.subject), settings.camera(a.subject)
    radius_m = station.area_radius_m if station else bulletins.dust_area_radius_m if camera else None
    area = _sub(info, "area")
    _sub(area, "areaDesc", str(p.cap_area(subject_name(settings, a.subject),
                                          None if radius_m is None else radius_m / 1000)))
    place = station or camera
    if place is not None and radius_m is not None:
        _sub(area, "circle", f"{place.lat:.6f},{place.lon:.6f} {radius_m / 1000:g}")


def public_message(msg: CapMessage, lang: str, composer: Composer) -> Message:
    """The change as the public hears of it (alert templates, audience public): headline and description."""
    receiver = ReceiverConfig(name="cap", channel=LogChannel(type="log"), language=lang, audience="public")
    return composer.compose(Candidate(msg.alert, msg.alert.labels(), receiver, msg.notice, None), msg.sent_ts)


def _info(root: ET.Element, msg: CapMessage, lang: str, settings: Settings, bulletins: BulletinSettings,
          composer: Composer) -> None:
    a, codes = msg.alert, cap_codes(msg.alert.kind, msg.alert.level, msg.msg_type)
    p = phrases({"lang": lang, "timezone": settings.timezone, "commune": settings.commune,
                 "source": bulletins.source_name})
    message = public_message(msg, lang, composer)
    info = _sub(root, "info")
    _sub(info, "language", CAP_LANGUAGES[lang])
    _sub(info, "category", "Env" if a.kind.startswith("dust.") else "Met")
    _sub(info, "event", str(p.cap_event(a.kind, a.level)))
    if codes.response:
        _sub(info, "responseType", codes.response)
    for tag in ("urgency", "severity", "certainty"):
        _sub(info, tag, getattr(codes, tag))
    code = _sub(info, "eventCode")
    _sub(code, "valueName", "TichWatch")
    _sub(code, "value", a.kind)
    _sub(info, "effective", cap_time(msg.sent_ts, settings.timezone))
    _sub(info, "onset", cap_time(a.started_ts, settings.timezone))
    if msg.msg_type != "Cancel":
        _sub(info, "expires", cap_time(msg.sent_ts + bulletins.cap_expires_s, settings.timezone))
    _sub(info, "senderName", str(p.sender_name()))
    _sub(info, "headline", message.title)
    _sub(info, "description", message.text)
    _sub(info, "web", alert_url(settings, a.id))
    for name, value in (("alarm_level", a.level), ("value", None if a.value is None else f"{a.value:g} {a.unit}")):
        if value is not None:
            param = _sub(info, "parameter")
            _sub(param, "valueName", name)
            _sub(param, "value", value.strip())
    _area(info, a, settings, bulletins, p)


def cap_xml(msg: CapMessage, earlier: Sequence[CapMessage], settings: Settings, bulletins: BulletinSettings,
            composer: Composer) -> bytes:
    """The CAP 1.2 XML of a message; `earlier` are the alert's previous messages (its references)."""
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", msg.identifier())
    _sub(root, "sender", bulletins.cap_sender)
    _sub(root, "sent", cap_time(msg.sent_ts, settings.timezone))
    _sub(root, "status", bulletins.cap_status)
    _sub(root, "msgType", msg.msg_type)
    _sub(root, "scope", "Public")
    if msg.msg_type == "Cancel" and msg.alert.resolve_reason:
        _sub(root, "note", msg.alert.resolve_reason)
    if earlier:
        _sub(root, "references", " ".join(f"{bulletins.cap_sender},{m.identifier()},"
                                          f"{cap_time(m.sent_ts, settings.timezone)}" for m in earlier))
    for lang in CAP_LANGUAGES:
        _info(root, msg, lang, settings, bulletins, composer)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
