"""The loudspeaker package, pure: what one notification (an alert change or a published bulletin) becomes for the
provincial source system — its id, priority, title, the text read aloud, the hamlets it concerns, validity, play
schedule — and the JSON document that describes it with its audio.

Priorities are Thông tư 39/2020/TT-BTTTT's three kinds of bulletin, lowest first: thông thường (normal: the commune
chooses when to play it in its programme), ưu tiên (priority: played first in the programme), khẩn cấp (emergency:
played at once, in emergencies such as natural disasters). Here: a flood.level alert that opens or rises to
`loudspeaker.emergency_from_level` or above is an emergency, played at once and repeated; other alert changes are
priority; an all-clear is normal; a bulletin is normal, an emergency bulletin priority.

A package is the same on every attempt: it depends only on the notification (its idempotency key is the package id,
its queueing time the start of validity) and the configuration, never on the time of sending.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.config.schema import Settings
from tichwatch.core.i18n import text
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.residents.impact import HamletRef, impact_at, impact_line, level_rank
from tichwatch.residents.speech import spoken

Priority = Literal["normal", "priority", "emergency"]
"""A package's priority (thông thường, ưu tiên, khẩn cấp)."""
PRIORITY_RANK: dict[Priority, int] = {"normal": 1, "priority": 2, "emergency": 3}
"""Priorities lowest first, as Thông tư 39/2020 lists them."""
Kind = Literal["alert", "bulletin"]
"""What a package carries."""

AUDIO_NAME = "audio.mp3"
"""The audio's file name in a package (a drop folder's file, the multipart part's file name)."""
AUDIO_TYPE = "audio/mpeg"
"""The audio's media type."""
PACKAGE_NAME = "package.json"
"""The document's file name (a drop folder's file, the multipart `metadata` part's file name)."""
TEXT_NAME = "text.txt"
"""The text's file name in a drop folder."""
LANGUAGE = "vi"
"""The language of the loudspeaker: the radio script exists in Vietnamese only."""
ALARMING = ("firing", "raised", "repeat")
"""Notices that tell of an alert at its level now (not lowered, acknowledged or resolved)."""


class PackageError(ValueError):
    """A notification that cannot become a package (a retry will not help)."""


@dataclass(frozen=True)
class Draft:
    """A package before its audio: everything the document says except the audio's figures."""

    id: str
    kind: Kind
    priority: Priority
    title: str
    text: str  # as written (what a person reads on the source system's screen)
    hamlets: tuple[HamletRef, ...]
    whole_commune: bool
    valid_from_ts: float
    valid_until_ts: float
    immediate: bool
    plays: tuple[float, ...]
    about: dict[str, Any]

    @property
    def spoken_text(self) -> str:
        """The text as the voice reads it: numbers, measures, times and dates in words."""
        return spoken(self.text)


@dataclass(frozen=True)
class AudioInfo:
    """The package's MP3, as the document describes it."""

    duration_s: float
    sha256: str
    size_bytes: int
    sample_rate_hz: int
    bitrate_kbps: int



def radio_message(title: str, script: str, quote: str) -> Message:
    """A bulletin for a loudspeaker receiver: its title and the radio script as approved (the short variant the
    quotable sentences)."""
    return Message(title, script, f"<h1>{html.escape(title)}</h1><p>{html.escape(script)}</p>", quote)


def priority_of(n: Notification, settings: Settings) -> Priority:
    """The priority of a notification's package (see the module's docstring)."""
    doc = n.alert
    if n.notice == "bulletin":
        return "priority" if doc.get("kind") == "emergency" else "normal"
    if n.notice == "resolved":
        return "normal"
    threshold = level_rank(settings.loudspeaker.emergency_from_level)
    if doc.get("kind") == "flood.level" and n.notice in ALARMING and level_rank(doc.get("level")) >= threshold:
        return "emergency"
    return "priority"


def _ts(iso: str | None, fallback: float) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else fallback


def _clock(ts: float, tz: str) -> tuple[str, str]:
    local = datetime.fromtimestamp(ts, ZoneInfo(tz))
    return local.strftime("%H:%M"), local.strftime("%d/%m/%Y")


def _place(settings: Settings, doc: dict[str, Any]) -> str:
    station = settings.station(str(doc.get("subject")))
    name = str(doc.get("subject_name") or doc.get("subject"))
    return text(LANGUAGE, "ls_place").format(river=station.river, station=name) if station and station.river else name


def alert_script(n: Notification, settings: Settings, priority: Priority) -> tuple[str, str]:
    """Title and script of an alert's package: the opening, the level with its time, the impact line naming the
    hamlets and what they must do, the closing. A kind other than flood.level reads the message's title."""
    doc, lang, tz = n.alert, LANGUAGE, settings.timezone
    opening = text(lang, "ls_opening_emergency" if priority == "emergency" else "ls_opening").format(
        commune=settings.commune)
    station = str(doc.get("subject_name") or doc.get("subject"))
    if doc.get("kind") != "flood.level":
        title = n.message.title.replace("[", "").replace("]", "").strip()
        return title, " ".join([opening, title.rstrip(".") + ".", text(lang, "ls_closing")])
    if n.notice == "resolved":
        time_, date = _clock(_ts(doc.get("resolved_at") or doc.get("updated_at"), n.created_ts), tz)
        body = text(lang, "ls_clear").format(time=time_, date=date, place=_place(settings, doc))
        return (text(lang, "ls_title_clear").format(station=station),
                " ".join([opening, body, text(lang, "ls_closing_clear")]))
    level = str(doc.get("level") or "")
    time_, date = _clock(_ts(doc.get("detected_at"), n.created_ts), tz)
    value = f"{float(doc['value']):.2f}".replace(".", ",") if doc.get("value") is not None else "?"
    body = text(lang, "ls_level").format(time=time_, date=date, place=_place(settings, doc), value=value,
                                         level=text(lang, level))
    line = impact_line(impact_at(settings.impact, str(doc.get("subject")), level_rank(level)), lang)
    closing = text(lang, "ls_closing_emergency" if priority == "emergency" else "ls_closing")
    title_key = "ls_title_emergency" if priority == "emergency" else "ls_title_level"
    return (text(lang, title_key).format(level=text(lang, level), station=station),
            " ".join(part for part in (opening, body, line, closing) if part))


def area_of(n: Notification, settings: Settings) -> tuple[tuple[HamletRef, ...], bool]:
    """The hamlets a package concerns, and whether it is the whole commune (bulletins, all-clears, alerts with no
    impact configured)."""
    doc = n.alert
    if n.notice not in ("bulletin", "resolved") and doc.get("kind") == "flood.level":
        impact = impact_at(settings.impact, str(doc.get("subject")), level_rank(doc.get("level")))
        if impact.hamlets:
            return impact.hamlets, False
    return tuple(HamletRef(h.id, h.name, h.households) for h in settings.impact.hamlets), True


def programme_plays(start_ts: float, until_ts: float, times_local: list[str], tz: str,
                    limit: int = 50) -> tuple[float, ...]:
    """The times of the commune's radio programme (local HH:MM) from `start_ts` up to `until_ts`, at most `limit`."""
    zone = ZoneInfo(tz)
    day = datetime.fromtimestamp(start_ts, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[float] = []
    while day.timestamp() <= until_ts and len(out) < limit:
        for hhmm in times_local:
            hour, minute = (int(x) for x in hhmm.split(":"))
            ts = day.replace(hour=hour, minute=minute).timestamp()
            if start_ts <= ts <= until_ts and len(out) < limit:
                out.append(ts)
        day = day + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return tuple(out)


def draft_of(n: Notification, settings: Settings) -> Draft:
    """The package of a notification (PackageError when it has nothing to read)."""
    s = settings.loudspeaker
    priority = priority_of(n, settings)
    if n.notice == "bulletin":
        kind: Kind = "bulletin"
        title, script = n.message.title, n.message.text
        valid_h = s.bulletin_valid_h
        about: dict[str, Any] = {"bulletin_id": n.alert.get("id"), "bulletin_kind": n.alert.get("kind"),
                                 "url": (n.alert.get("links") or {}).get("self")}
    else:
        kind = "alert"
        title, script = alert_script(n, settings, priority)
        valid_h = s.emergency_valid_h if priority == "emergency" else s.alert_valid_h
        about = {"alert_id": n.alert.get("id"), "alert_kind": n.alert.get("kind"),
                 "station_id": n.alert.get("subject"), "level": n.alert.get("level"), "notice": n.notice,
                 "url": n.alert.get("url")}
    script = script.strip()
    if not script:
        raise PackageError("nothing to read: the text is empty")
    if len(script) > s.max_text_chars:
        raise PackageError(f"the text has {len(script)} characters, more than loudspeaker.max_text_chars "
                           f"({s.max_text_chars})")
    start, until = n.created_ts, n.created_ts + valid_h * 3600
    immediate = priority == "emergency"
    if immediate:
        step = s.emergency_interval_min * 60
        plays = tuple(t for t in (start + i * step for i in range(s.emergency_plays)) if t <= until)
    else:
        plays = programme_plays(start, until, s.play_times_local, settings.timezone)
    hamlets, whole = area_of(n, settings)
    return Draft(n.idempotency_key, kind, priority, title, script, hamlets, whole, start, until, immediate, plays,
                 about)


def _at(name: str, ts: float, tz: str) -> dict[str, str]:
    return {name: iso_utc(ts), f"{name}_local": iso_local(ts, tz)}


def package_document(draft: Draft, audio: AudioInfo, settings: Settings) -> dict[str, Any]:
    """The package's JSON document (the `metadata` part of the HTTP request, `package.json` in a drop folder)."""
    s, tz = settings.loudspeaker, settings.timezone
    return {
        "version": 1,
        "id": draft.id,
        "source": {"id": s.source_id or None, "name": text(LANGUAGE, "ls_source_name").format(
            commune=settings.commune), "commune": settings.commune, "system": "TichWatch"},
        "kind": draft.kind,
        "priority": draft.priority,
        "priority_vi": text("vi", f"ls_priority_{draft.priority}"),
        "priority_rank": PRIORITY_RANK[draft.priority],
        "title": draft.title,
        "text": draft.text,
        "spoken_text": draft.spoken_text,
        "language": LANGUAGE,
        "area": {"whole_commune": draft.whole_commune,
                 "hamlets": [{"id": h.id, "name": h.name, "households": h.households} for h in draft.hamlets]},
        **_at("valid_from", draft.valid_from_ts, tz),
        **_at("valid_until", draft.valid_until_ts, tz),
        "schedule": {
            "mode": "immediate" if draft.immediate else "programme",
            "plays": [_at("at", ts, tz) for ts in draft.plays],
            "repeat": len(draft.plays),
            "interval_min": s.emergency_interval_min if draft.immediate else None,
            "programme_times_local": None if draft.immediate else list(s.play_times_local),
        },
        "audio": {"file_name": AUDIO_NAME, "media_type": AUDIO_TYPE, "duration_s": round(audio.duration_s, 2),
                  "sha256": audio.sha256, "bytes": audio.size_bytes, "sample_rate_hz": audio.sample_rate_hz,
                  "bitrate_kbps": audio.bitrate_kbps, "channels": 1},
        "about": draft.about,
    }
