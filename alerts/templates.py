"""Messages from templates: one sandboxed Jinja environment over the files in alerts/templates/<language>/.

The context is plain data (names, figures, local times, links); wording and language live in the templates, so a
commune can change them without touching code, and a template cannot reach into Python objects (sandbox).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.model import Alert, AlertState
from tichwatch.alerts.redaction import Redactor
from tichwatch.alerts.stages import Candidate
from tichwatch.alerts.views import alert_url, subject_name
from tichwatch.config.alerts import LogChannel, ReceiverConfig
from tichwatch.config.schema import Settings
from tichwatch.core.i18n import text
from tichwatch.residents.impact import impact_line, impact_of_alert

TEMPLATES = Path(__file__).with_name("templates")
"""Where the *.j2 files are."""

ADVICE_APART = "cap"
"""The receiver name of messages whose format carries what to do in a field of its own (CAP's <instruction>): their
texts leave the "what to do" line out, so the advice is not said twice in two wordings."""

SHORT_MAX_CHARS = 160
"""The short variant names the affected hamlets only when it still fits one SMS segment with them."""
LIST_VIEWER = ReceiverConfig(name="list", channel=LogChannel(type="log"))
"""The receiver an alert list is rendered for: officers, in the deployment's language."""
LANGUAGES: tuple[str, ...] = ("vi", "en")
"""The languages the templates are written in (a folder each)."""


def choose_language(asked: str | None, accept_language: str | None, default: str) -> str:
    """The language to render in: the one asked for (`?lang=`), else the first of the Accept-Language header's
    (by its q-values) that the templates have, else the deployment's."""
    if asked in LANGUAGES:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):  # a header is not a reason to loop long
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower().split("-")[0]))
    return next((lang for q, _, lang in sorted(ranked) if q < 0 and lang in LANGUAGES), default)

def _lines(body: str) -> list[str]:
    """A rendered body's non-blank lines."""
    return [line for line in body.splitlines() if line.strip()]


def make_environment() -> SandboxedEnvironment:
    """The one template environment: sandboxed, strict about undefined names, HTML escaped in *.html.j2."""
    env = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                               lstrip_blocks=True, autoescape=select_autoescape(["html.j2"]))
    env.filters.update(num=_num, clock=_clock, day=_day, sentence=_sentence)
    env.globals["t"] = text  # the one text catalogue: t(lang, key), the words the pages use too
    return env


def _sentence(text: str) -> str:
    """Upper-case the first letter only (`capitalize` would lower-case names)."""
    return text[:1].upper() + text[1:]


@pass_context
def _num(ctx: Context, value: float | None, digits: int = 2) -> str:
    """A number with the language's decimal separator (7,42 in Vietnamese)."""
    if value is None:
        return "?"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if ctx["lang"] == "vi" else text


def _local(ctx: Context, ts: float) -> datetime:
    return datetime.fromtimestamp(ts, ZoneInfo(ctx["timezone"]))


@pass_context
def _clock(ctx: Context, ts: float) -> str:
    """Local time of day, HH:MM."""
    return _local(ctx, ts).strftime("%H:%M")


@pass_context
def _day(ctx: Context, ts: float) -> str:
    """Local date, DD/MM/YYYY."""
    return _local(ctx, ts).strftime("%d/%m/%Y")


def eta_s(evidence: dict[str, Any]) -> float | None:
    """Predicted time to the next level: the detector's, else distance over a positive rate of rise."""
    if evidence.get("eta_s") is not None:
        return float(evidence["eta_s"])
    distance, rate = evidence.get("distance_m"), evidence.get("rate_m_per_h")
    if distance is None or not rate or rate <= 0:
        return None
    return float(distance) / float(rate) * 3600


def eta_times(evidence: dict[str, Any], detected_ts: float) -> dict[str, float | None]:
    """The forecast as absolute times, which never go stale: when the next level is expected (`eta_ts`, with the
    band's `eta_low_ts`/`eta_high_ts`) and the reading it was worked out from (`forecast_ts`). The detector's own,
    else (evidence from before it recorded them) its durations counted from the detection."""
    base = float(evidence.get("forecast_ts") or detected_ts)
    eta = eta_s(evidence)
    out: dict[str, float | None] = {"forecast_ts": base}
    for name, relative in (("eta_ts", eta), ("eta_low_ts", evidence.get("eta_low_s")),
                           ("eta_high_ts", evidence.get("eta_high_s"))):
        given = evidence.get(name)
        out[name] = float(given) if given is not None else None if relative is None else base + float(relative)
    return out


def impact_context(settings: Settings, alert: Alert, lang: str) -> dict[str, Any] | None:
    """What a flood alert means for the hamlets, for the templates: the sentence naming them and what to do
    (`line`), their names, and whether it is a forecast's (`coming`); None for other kinds and unconfigured ones.
    Worked out from the settings when the message is rendered."""
    impact = impact_of_alert(settings.impact, alert.kind, alert.subject, alert.level)
    if impact is None:
        return None
    coming = alert.kind == "flood.forecast"
    return {"line": impact_line(impact, lang, coming=coming), "hamlets": [h.name for h in impact.hamlets],
            "coming": coming, "level": impact.level}


class Composer:
    """Renders the message of a notification in its receiver's language and for its audience; an alert's reason and
    evidence are redacted first (a delivery.failed alert's error from before errors were redacted, in a public feed)."""

    def __init__(self, settings: Settings, ack_url: Callable[[str, str, float], str] | None = None):
        self.settings = settings
        self.env = make_environment()
        self._ack_url = ack_url
        self._redactor = Redactor.for_receivers(settings.alerts.receivers)

    def context(self, c: Candidate, now: float) -> dict[str, Any]:
        """The data the templates see (a missing evidence fact reads as none)."""
        a, s = c.alert, self.settings
        station = s.station(a.subject)
        lang = c.receiver.language or s.language
        return {
            "lang": lang, "timezone": s.timezone, "commune": s.commune,
            "audience": c.receiver.audience, "advice": c.receiver.name != ADVICE_APART, "notice": c.notice,
            "tier": c.tier.name if c.tier else None,
            "firing_since_ts": a.firing_since_ts, "id": a.id, "kind": a.kind, "family": a.kind.split(".")[0],
            "subject": a.subject, "subject_name": subject_name(s, a.subject),
            "river": station.river if station else None, "is_station": station is not None, "state": a.state.value,
            "severity": a.severity.name.lower(), "level": a.level, "value": a.value, "unit": a.unit,
            "reason": self._redactor.text(a.reason),
            "evidence": defaultdict(lambda: None, self._redactor.document(a.evidence)),
            **eta_times(a.evidence, a.detected_ts), "clearing": a.open and a.clearing_ts is not None,
            "clearing_ts": a.clearing_ts, "resolved_ts": a.resolved_ts,
            "detected_ts": a.detected_ts, "started_ts": a.started_ts, "now": now, "acknowledged_by": a.acknowledged_by,
            "resolved_by": a.resolved_by,
            "resolve_reason": self._redactor.text(a.resolve_reason) if a.resolve_reason else None,
            "url": alert_url(s, a.id),
            "ack_url": None, "impact": impact_context(s, a, lang),
        }

    def _render(self, ctx: dict[str, Any], name: str, **extra: Any) -> str:
        return self.env.get_template(f"{ctx['lang']}/{name}").render(ctx, **extra).strip()

    def _viewed(self, alert: Alert, now: float, lang: str | None) -> dict[str, Any]:
        """The template data for an officer reading the alert on a screen, in `lang` (the deployment's when None)."""
        notice = "firing" if alert.state is AlertState.FIRING else alert.state.value
        viewer = LIST_VIEWER if lang is None else LIST_VIEWER.model_copy(update={"language": lang})
        candidate = Candidate(alert, alert.labels(), viewer, notice, None)  # type: ignore[arg-type]
        return self.context(candidate, now)

    def title_of(self, alert: Alert, now: float, lang: str | None = None) -> str:
        """The alert's title as officers see it in a list, in `lang` (one of LANGUAGES; the deployment's when None):
        the stage and the figure with its time, so it reads true however late it is read."""
        return self._render(self._viewed(alert, now, lang), "title.j2")

    def body_of(self, alert: Alert, now: float, lang: str | None = None) -> list[str]:
        """The alert's message body as officers read it, line by line, in `lang` (the deployment's when None): the
        figures with their times, the trend, the forecast and what it rests on, a dust detection's evidence."""
        return _lines(self._render(self._viewed(alert, now, lang), "body.j2"))

    def _short(self, ctx: dict[str, Any]) -> str:
        """The short variant: with the affected hamlets and the trend when that fits one SMS segment, else the
        hamlets without the trend (who must act matters more), else as it always was."""
        if ctx["impact"] is None:
            return self._render(ctx, "short.j2")
        for hamlets, trend in ((True, True), (True, False)):
            short = self._render(ctx, "short.j2", with_hamlets=hamlets, with_trend=trend)
            if len(short) <= SHORT_MAX_CHARS:
                return short
        return self._render(ctx, "short.j2")

    def compose(self, c: Candidate, now: float) -> Message:
        """Render the title, the body, then the text and HTML around the body, and the short variant; officers'
        messages about a firing alert carry an acknowledge link."""
        ctx = self.context(c, now)
        if (self._ack_url is not None and c.receiver.audience == "officers" and c.alert.state is AlertState.FIRING
                and c.notice in ("firing", "raised", "lowered", "repeat")):
            ctx["ack_url"] = self._ack_url(c.alert.id, c.receiver.name, now)
        title, body = self._render(ctx, "title.j2"), self._render(ctx, "body.j2")
        lines = _lines(body)
        short = self._short(ctx)
        return Message(title, self._render(ctx, "text.j2", body="\n".join(lines)),
                       self._render(ctx, "message.html.j2", title=title, body_lines=lines), short)
