"""CAP 1.2 (OASIS Common Alerting Protocol) messages for public alert changes, built with ElementTree.

Every public change of an alert (opened, raised, lowered, updated, resolved: the audit log's entries) is one message.
The first is msgType Alert; later ones are Update, and the resolution is Cancel with responseType AllClear; each later
message lists all earlier ones of the alert in <references>. A message has an <info> block in vi-VN and one in en-US
(headline and description from the alert templates, audience "public"; <instruction> from the text catalogue) and the
alert's area: a circle around the station (StationConfig.area_radius_m) or the camera's site
(bulletins.dust_area_radius_m); a flood alert whose level is configured under `impact:` adds an <area> per
affected hamlet (its name, and its polygon from the hamlet-areas GeoJSON, residents.impact_areas) and starts its
<instruction> with the sentence naming those hamlets and what they must do. The mapping of alarm levels to
urgency, severity and certainty is CAP_CODES (documented in docs/bulletins.md).

A message is rendered once, when it is issued (`residents.feeds.issuer`), from the facts of its change: the alert as
the change left it, or, for changes that have no message yet (an older database), the figures its audit entry
recorded. It is never rendered again.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.model import Alert, AlertState, AuditEntry
from tichwatch.alerts.stages import Candidate
from tichwatch.alerts.templates import ADVICE_APART, Composer
from tichwatch.alerts.views import alert_url, subject_name
from tichwatch.config.alerts import LogChannel, NoticeKind, ReceiverConfig
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Severity
from tichwatch.core.i18n import texts
from tichwatch.residents.bulletins.compose import phrases
from tichwatch.residents.impact import Impact, impact_line, impact_of_alert
from tichwatch.residents.impact_areas import HamletArea, areas_or_none, cap_polygon

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
"""The CAP 1.2 XML namespace."""
CAP_MEDIA_TYPE = "application/cap+xml"
"""Media type of a CAP message."""
CAP_LANGUAGES = {"vi": "vi-VN", "en": "en-US"}
"""The info blocks of a message: our language → its RFC 3066 code."""

PUBLIC_ACTIONS: dict[str, tuple[str, NoticeKind]] = {
    "opened": ("Alert", "firing"), "raised": ("Update", "raised"), "lowered": ("Update", "lowered"),
    "updated": ("Update", "firing"), "resolved": ("Cancel", "resolved"),
}
"""Audit actions that the public hears of: action → (msgType, notice for the templates). Acknowledgements, holds and
silences are officers' business and make no message; a re-fire ("refired") always comes with the update, raise or
lowering of the same change, which is its message."""


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


INSTRUCTION_KEY = "cap_instruction_"
"""Prefix of the <instruction> texts in the catalogue (core/catalogue/cap.json)."""


def instruction(kind: str, level: str | None, msg_type: str, lang: str) -> str:
    """What people should do, from the catalogue: `cap_instruction_<kind>_<level>` (flood levels and forecasts),
    `cap_instruction_<kind>`, `cap_instruction_<kind>_cancel` for a Cancel, else `cap_instruction_default`."""
    catalogue = texts(lang)
    keys = ([f"{kind}_cancel"] if msg_type == "Cancel" else [f"{kind}_{level}", kind]) + ["default"]
    return next(catalogue[INSTRUCTION_KEY + k] for k in keys if INSTRUCTION_KEY + k in catalogue)


def cap_time(ts: float, tz: str) -> str:
    """CAP dateTime: local time with its offset, whole seconds, UTC written -00:00 (as CAP 1.2 requires)."""
    text = datetime.fromtimestamp(int(ts), ZoneInfo(tz)).isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class PublicChange:
    """One public change of an alert: when it was sent, its msgType, the notice for the templates, and the alert as
    it was right after the change (its figures, level, threshold and sample time: the facts the message states)."""

    sent_ts: float
    msg_type: str
    notice: NoticeKind
    alert: Alert


def cap_identifier(message_id: str) -> str:
    """The CAP <identifier> of a message id (unique for this sender)."""
    return f"tichwatch-{message_id}"


def at_change(alert: Alert, entry: AuditEntry) -> PublicChange:
    """The public change an audit entry records, with `alert` as the change left it (in the change's transaction)."""
    msg_type, notice = PUBLIC_ACTIONS[entry.action]
    cancel = msg_type == "Cancel"
    state = replace(alert, state=AlertState.RESOLVED if cancel else AlertState.FIRING, updated_ts=entry.ts,
                    resolved_ts=(alert.resolved_ts or entry.ts) if cancel else None,
                    resolve_reason=entry.reason if cancel else None, resolved_by=entry.actor if cancel else None)
    return PublicChange(entry.ts, msg_type, notice, state)


def replayed(alert: Alert, audit: Sequence[AuditEntry]) -> list[tuple[int, PublicChange]]:
    """The public changes of an alert rebuilt from its audit log alone (for changes that have no issued message),
    each with its position in `audit`: every figure comes from the entries (severity, level, value, unit, evidence,
    sample time), never from the alert's current row, except the evidence of the last alert or update when its
    entry predates entries carrying evidence (then the alert's evidence is that very detection's)."""
    public = [i for i, e in enumerate(audit) if e.action in PUBLIC_ACTIONS]
    last_live = max((i for i in public if PUBLIC_ACTIONS[audit[i].action][0] != "Cancel"), default=-1)
    state = replace(alert, evidence={})
    out: list[tuple[int, PublicChange]] = []
    for i, e in enumerate(audit):
        state = _after(state, e)
        if i == last_live and "evidence" not in e.data:
            state = replace(state, evidence=dict(alert.evidence))
        if i in public:
            msg_type = PUBLIC_ACTIONS[e.action][0]
            reason = e.reason if msg_type != "Cancel" and e.reason else state.reason
            out.append((i, at_change(replace(state, reason=reason), e)))
    return out


def _after(state: Alert, e: AuditEntry) -> Alert:
    """The alert's figures after an audit entry, as far as the entry records them."""
    d = e.data
    severity = Severity[str(d["severity"]).upper()] if "severity" in d else state.severity
    sample_ts = d.get("sample_ts", e.ts if e.action in PUBLIC_ACTIONS and e.action != "resolved" else None)
    return replace(state, severity=severity, level=d.get("level", state.level), value=d.get("value", state.value),
                   unit=d.get("unit") or state.unit, evidence=d.get("evidence", state.evidence),
                   detected_ts=state.detected_ts if sample_ts is None else float(sample_ts))


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _area(info: ET.Element, a: Alert, settings: Settings, bulletins: BulletinSettings, p: Any,
          impact: Impact | None) -> None:
    station, camera = settings.station(a.subject), settings.camera(a.subject)
    radius_m = station.area_radius_m if station else bulletins.dust_area_radius_m if camera else None
    area = _sub(info, "area")
    _sub(area, "areaDesc", str(p.cap_area(subject_name(settings, a.subject),
                                          None if radius_m is None else radius_m / 1000)))
    place = station or camera
    if place is not None and radius_m is not None:
        _sub(area, "circle", f"{place.lat:.6f},{place.lon:.6f} {radius_m / 1000:g}")
    _hamlet_areas(info, impact, areas_or_none(settings.impact) if impact is not None else {})


def _hamlet_areas(info: ET.Element, impact: Impact | None, areas: Mapping[str, HamletArea]) -> None:
    """An <area> per hamlet the alert affects: its name, and its polygon when the hamlet-areas file has one."""
    for hamlet in impact.hamlets if impact is not None else ():
        area = _sub(info, "area")
        _sub(area, "areaDesc", hamlet.name)
        if hamlet.id in areas:
            _sub(area, "polygon", cap_polygon(areas[hamlet.id]))


def message_impact(change: PublicChange, settings: Settings) -> Impact | None:
    """What a live flood change means for the hamlets (None for a Cancel: the all-clear names no one to move)."""
    a = change.alert
    return None if change.msg_type == "Cancel" else impact_of_alert(settings.impact, a.kind, a.subject, a.level)


def public_message(change: PublicChange, lang: str, composer: Composer) -> Message:
    """The change as the public hears of it (alert templates, audience public): headline and description."""
    receiver = ReceiverConfig(name=ADVICE_APART, channel=LogChannel(type="log"), language=lang, audience="public")
    return composer.compose(Candidate(change.alert, change.alert.labels(), receiver, change.notice, None),
                            change.sent_ts)


def expires_ts(change: PublicChange, bulletins: BulletinSettings) -> float:
    """When a message stops being in force: an Alert or Update after `cap_expires_s` (a newer message replaces it
    sooner), a Cancel after `cap_cancel_expires_s` (long enough for every reader to see the all-clear)."""
    return change.sent_ts + (bulletins.cap_cancel_expires_s if change.msg_type == "Cancel" else bulletins.cap_expires_s)


def _parameters(info: ET.Element, a: Alert, tz: str) -> None:
    threshold = a.evidence.get("threshold_m") if a.kind == "flood.level" else None
    for name, value in (("alarm_level", a.level), ("value", None if a.value is None else f"{a.value:g} {a.unit}"),
                        ("threshold", None if threshold is None else f"{float(threshold):g} m"),
                        ("observed_at", cap_time(a.detected_ts, tz))):
        if value is not None:
            param = _sub(info, "parameter")
            _sub(param, "valueName", name)
            _sub(param, "value", value.strip())


def _info(root: ET.Element, change: PublicChange, lang: str, settings: Settings, bulletins: BulletinSettings,
          composer: Composer) -> None:
    a, codes, tz = change.alert, cap_codes(change.alert.kind, change.alert.level, change.msg_type), settings.timezone
    p = phrases({"lang": lang, "timezone": tz, "commune": settings.commune, "source": bulletins.source_name})
    message = public_message(change, lang, composer)
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
    _sub(info, "effective", cap_time(change.sent_ts, tz))
    _sub(info, "onset", cap_time(a.started_ts, tz))
    _sub(info, "expires", cap_time(expires_ts(change, bulletins), tz))
    _sub(info, "senderName", str(p.sender_name()))
    _sub(info, "headline", message.title)
    _sub(info, "description", message.text)
    impact = message_impact(change, settings)
    said = instruction(a.kind, a.level, change.msg_type, lang)
    if impact is not None:  # who must act first, then the general advice
        said = f"{impact_line(impact, lang, coming=a.kind == 'flood.forecast')} {said}"
    _sub(info, "instruction", said)
    _sub(info, "web", alert_url(settings, a.id))
    _parameters(info, a, tz)
    _area(info, a, settings, bulletins, p, impact)


def cap_reference(message_id: str, change: PublicChange, settings: Settings, bulletins: BulletinSettings) -> str:
    """How later messages name this one in <references>: "sender,identifier,sent"."""
    return f"{bulletins.cap_sender},{cap_identifier(message_id)},{cap_time(change.sent_ts, settings.timezone)}"


def cap_xml(message_id: str, change: PublicChange, references: Sequence[str], settings: Settings,
            bulletins: BulletinSettings, composer: Composer) -> bytes:
    """The CAP 1.2 XML of a message; `references` name the alert's earlier messages, as they were issued."""
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", cap_identifier(message_id))
    _sub(root, "sender", bulletins.cap_sender)
    _sub(root, "sent", cap_time(change.sent_ts, settings.timezone))
    _sub(root, "status", bulletins.cap_status)
    _sub(root, "msgType", change.msg_type)
    _sub(root, "scope", "Public")
    # no <note> from an officer's resolve reason: free text typed for colleagues (a name, a phone number) must not
    # reach a public message that can never be taken back
    if references:
        _sub(root, "references", " ".join(references))
    for lang in CAP_LANGUAGES:
        _info(root, change, lang, settings, bulletins, composer)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True,
                                 default_namespace=CAP_NS)  # per document: ET's prefix registry is global
    return document
