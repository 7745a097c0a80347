"""Compose a bulletin from a snapshot: pure, no I/O. The facts come from `facts.derive`; the wording from the
templates alerts/templates/bulletin_*_<lang>.j2 (the one sandboxed environment of tichwatch.alerts.templates)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from tichwatch.alerts.templates import make_environment
from tichwatch.config.schema import Settings
from tichwatch.detectors.flood.levels import Ladder
from tichwatch.residents.bulletins.facts import Facts, Figure, StationFacts, derive
from tichwatch.residents.bulletins.snapshot import BulletinKind, Snapshot, StationData
from tichwatch.residents.impact import impact_line
from tichwatch.residents.pictures import CardData, ChartData, Projection
from tichwatch.residents.speech import spoken

LANGUAGES = ("vi", "en")
"""The languages of bulletins, default first."""

_ENV = make_environment()


@dataclass(frozen=True)
class Bulletin:
    """A composed bulletin in one language: title, the quotable sentences, the full text, its figures and pictures."""

    id: str
    lang: str
    kind: BulletinKind
    data_ts: float
    title: str
    quote: str
    text: str
    figures: tuple[Figure, ...]
    card: CardData
    chart: ChartData | None  # the quoted station over the last 24 hours


def _context(snap: Snapshot, facts: Facts, lang: str) -> dict[str, Any]:
    """The plain data the bulletin templates see."""
    names = {s.config.id: s.config.name for s in snap.stations} | {c.config.id: c.config.site for c in snap.cameras}
    impacts = [{"station": s.name, "line": impact_line(s.impact, lang)} for s in facts.stations if s.impact]
    return {
        "lang": lang, "timezone": snap.timezone, "commune": snap.commune, "source": snap.source_name,
        "kind": snap.kind, "now": snap.now, "rank": facts.rank, "names": names,
        "stations": [asdict(s) for s in facts.stations], "main": asdict(facts.main) if facts.main else None,
        "alerts": [asdict(a) for a in snap.alerts], "dust": [asdict(d) for d in facts.dust],
        "dust_total": sum(d.count for d in facts.dust), "stations_online": facts.stations_online,
        "cameras_online": facts.cameras_online, "cameras_total": len(snap.cameras),
        "offline_cameras": list(facts.offline_cameras), "refs": facts.refs,
        "figures": [asdict(f) for f in facts.figures], "url": snap.url(), "impacts": impacts,
    }


def phrases(ctx: dict[str, Any]) -> Any:
    """The phrase macros of the context's language (bulletin_parts_<lang>.j2), callable from Python."""
    return _ENV.get_template(f"bulletin_parts_{ctx['lang']}.j2").make_module(ctx)


def _clean(text: str) -> str:
    """Trim trailing spaces and collapse runs of blank lines."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def chart_data(station: StationData, ctx: dict[str, Any], span_s: float) -> ChartData:
    """The level chart of a station over `span_s` up to the context's `now`, with its bands and forecast."""
    p, cfg, now = phrases(ctx), station.config, ctx["now"]
    ladder = Ladder.from_alarm(cfg.alarm)
    levels = list(zip(ladder.names, ladder.thresholds_m))
    return ChartData(
        title=str(p.chart_title({"river": cfg.river, "name": cfg.name})),
        subtitle=str(p.chart_subtitle(span_s / 3600, cfg.datum)), footer=str(p.footer()),
        points=station.series, levels=levels,
        level_labels=[f"{p.level_short(name)} {p.metres(m)}" for name, m in levels],
        start_ts=now - span_s, now_ts=now, end_ts=now + span_s / 4, timezone=ctx["timezone"], lang=ctx["lang"],
        max_gap_s=3 * max(cfg.expected_interval_s, span_s / 600), projection=_projection(station))


def _projection(station: StationData) -> Projection | None:
    """The detector's forecast of the next alarm level (its time and band), when it has one."""
    r, st = station.reading, station.status
    if r is None or st is None or st.eta_s is None or st.ts is None or st.next_threshold_m is None:
        return None
    low = None if st.eta_low_s is None else st.ts + st.eta_low_s
    high = None if st.eta_high_s is None else st.ts + st.eta_high_s
    return Projection(r.ts, r.level_m, st.ts + st.eta_s, st.next_threshold_m, low, high)


def _card(snap: Snapshot, facts: Facts, ctx: dict[str, Any], chart: ChartData | None) -> CardData:
    p, main = phrases(ctx), ctx["main"]
    others = [str(p.station_line(s)) for s in ctx["stations"] if main is None or s["id"] != main["id"]]
    said = next((i["line"] for i in ctx["impacts"] if main is not None and i["station"] == main["name"]), None)
    notes = [*([said] if said else []), str(p.alerts_line()), str(p.dust_summary())]  # who must act comes first
    if main is None:
        return CardData(str(p.title()), str(p.subtitle()), 0, "", "—", [str(p.quote(None))], others,
                        f"{p.footer()} · {snap.url()}", None, notes)
    lines = [str(p.position(main)), str(p.trend(main)), str(p.eta(main))]
    return CardData(str(p.title()), str(p.subtitle()), facts.rank, str(p.card_station(main)),
                    str(p.metres(main["level_m"])),
                    [_ENV.filters["sentence"](line) for line in lines if line], others,
                    f"{p.footer()} · {snap.url()}", chart, notes)


def _main_station(snap: Snapshot, main: StationFacts | None) -> StationData | None:
    return next((s for s in snap.stations if main is not None and s.config.id == main.id), None)


def compose_bulletin(snapshot: Snapshot, lang: str) -> Bulletin:
    """The bulletin of a snapshot in one language ("vi" or "en")."""
    facts = derive(snapshot)
    ctx = _context(snapshot, facts, lang)
    p = phrases(ctx)
    main = _main_station(snapshot, facts.main)
    chart = chart_data(main, ctx, snapshot.window_s) if main is not None else None
    text = _ENV.get_template(f"bulletin_text_{lang}.j2").render(ctx)
    return Bulletin(snapshot.id, lang, snapshot.kind, snapshot.now, str(p.title()), _clean(str(p.quote(ctx["main"]))),
                    _clean(text), facts.figures, _card(snapshot, facts, ctx, chart), chart)


def compose_radio_script(snapshot: Snapshot) -> str:
    """The loudspeaker script in plain spoken Vietnamese: figures, units, times and dates written as read aloud."""
    ctx = _context(snapshot, derive(snapshot), "vi")
    return spoken(_clean(_ENV.get_template("bulletin_radio_vi.j2").render(ctx)))


def station_chart(station: StationData, settings: Settings, source_name: str, now: float, span_s: float,
                  lang: str) -> ChartData:
    """The live chart of any station (the API's /stations/{id}/chart.png), in a language."""
    ctx = {"lang": lang, "timezone": settings.timezone, "commune": settings.commune, "source": source_name,
           "now": now}
    return chart_data(station, ctx, span_s)
