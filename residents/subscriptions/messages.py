"""What residents are sent, pure: the fields of one message (what a ZNS template is filled from) and its text (what
an SMS carries), in the resident's language, from the one catalogue. The unsubscribe link is not here: it is made
for each resident at send time (`sending`), like their number is looked up then."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.model import Alert
from tichwatch.alerts.templates import eta_times
from tichwatch.core.i18n import text
from tichwatch.residents.impact import Impact, impact_line

CODE = re.compile(r"\d{4,10}")
"""A confirmation code inside a text: the first run of 4-10 digits."""


@dataclass(frozen=True)
class Composed:
    """One message to residents in one language: its kind, its template fields and its text."""

    kind: str  # flood_alert, forecast_warning, all_clear, bulletin, confirmation
    fields: dict[str, str]
    message: Message

    def document(self) -> dict[str, object]:
        """What the outbox row carries for the channel (no phone number, no link)."""
        return {"kind": self.kind, "fields": self.fields}


def _clock(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y")


def _num(value: float | None, lang: str) -> str:
    if value is None:
        return "?"
    shown = f"{value:.2f}"
    return shown.replace(".", ",") if lang == "vi" else shown


def _message(title: str, body: str) -> Message:
    return Message(title, body, f"<p>{body}</p>", body)


def alert_message(kind: str, alert: Alert, impact: Impact, station: str, commune: str, tz: str,
                  lang: str) -> Composed:
    """A flood alert (the level reached) or a forecast warning (the level expected) to the residents it affects."""
    level = text(lang, f"rd.level_{impact.level}")
    forecast = kind == "forecast_warning"
    when = (eta_times(alert.evidence, alert.detected_ts).get("eta_ts") or alert.detected_ts) if forecast \
        else alert.detected_ts
    value = alert.evidence.get("level_m") if forecast else alert.value
    fields = {"station": station, "level": level, "value": "" if value is None else f"{_num(value, lang)} m",
              "time": _clock(when, tz),
              "hamlets": ", ".join(h.name for h in impact.hamlets), "action": impact.action(lang),
              "impact": impact_line(impact, lang, coming=forecast), "commune": commune}
    key = "rd.forecast" if forecast else "rd.alert"
    title = text(lang, f"{key}_title").format(**fields)
    return Composed(kind, {**fields, "title": title}, _message(title, text(lang, f"{key}_text").format(**fields)))


def all_clear_message(alert: Alert, impact: Impact, station: str, commune: str, tz: str, lang: str) -> Composed:
    """The end of the alert residents were told of."""
    fields = {"station": station, "level": text(lang, f"rd.level_{impact.level}"),
              "time": _clock(alert.resolved_ts or alert.updated_ts, tz),
              "hamlets": ", ".join(h.name for h in impact.hamlets), "commune": commune}
    title = text(lang, "rd.clear_title").format(**fields)
    return Composed("all_clear", {**fields, "title": title},
                    _message(title, text(lang, "rd.clear_text").format(**fields)))


def bulletin_message(content: Mapping[str, str], link: str, commune: str, tz: str, published_ts: float,
                     lang: str) -> Composed:
    """A published bulletin's quote (its quotable sentences) with the link to the full bulletin."""
    title, quote = content.get(f"title_{lang}", ""), content.get(f"quote_{lang}", "")
    fields = {"title": title, "text": quote, "time": _clock(published_ts, tz), "commune": commune,
              "bulletin_link": link}
    return Composed("bulletin", fields, _message(title, f"{quote} {link}".strip()))


def direct_message(body: str) -> Composed:
    """A text to one subscriber about neither an alert nor a bulletin (the confirmation code of a registration)."""
    found = CODE.search(body)
    return Composed("confirmation", {"text": body, "code": found.group(0) if found else ""}, _message("", body))


def template_data(params: Mapping[str, tuple[str, int]], fields: Mapping[str, str]) -> dict[str, str]:
    """A template's data: each parameter (name → (field, max characters)) filled from our fields, cut to fit."""
    out: dict[str, str] = {}
    for name, (field, max_chars) in params.items():
        value = " ".join(str(fields.get(field, "")).split())
        out[name] = value if len(value) <= max_chars else value[:max_chars - 1].rstrip() + "…"
    return out
