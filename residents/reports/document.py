"""A report as a document in the form of Nghị định 30/2020/NĐ-CP (Appendix I: administrative documents): the
issuing body and the national motto, the number and symbol, place and date, the title, numbered sections with their
tables and charts, the 'Nơi nhận' list and the signer's block. Built once from the figures in the report's language
(texts from the catalogue, core/catalogue/reports.json); the PDF and DOCX renderers only lay it out, so both hold
the same words and tables.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tichwatch.config.reports import ReportSettings
from tichwatch.core.i18n import text
from tichwatch.residents.reports import charts
from tichwatch.residents.reports.gather import Availability, Notable, ReportData, Response

NBSP = "\u00a0"
"""A space that layout keeps (the blank of the number)."""
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
"""Numbers of the sections."""


@dataclass(frozen=True)
class Table:
    """A table: its column heads, rows of cells, and the columns' relative widths."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    """A chart picture (PNG) with its caption."""

    caption: str
    png: bytes


Block = str | Table | Chart
"""What a section holds: paragraphs, tables and charts, in order."""


@dataclass(frozen=True)
class Section:
    """A numbered section: its heading (with its number) and blocks."""

    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class ReportDocument:
    """Every word and figure of a report, in its order on the page."""

    parent_body: str
    issuing_body: str
    number: str
    nation: str
    motto: str
    place_date: str
    title: str
    subtitle: str
    intro: str
    sections: tuple[Section, ...]
    closing: str
    recipients_heading: str
    recipients: tuple[str, ...]
    signer_authority: str
    signer_title: str
    signer_name: str
    keywords: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]


def place_date(place: str, day: date, lang: str) -> str:
    """'Kiều Phú, ngày 01 tháng 12 năm 2026': days below 10 and months 1 and 2 with a leading zero (NĐ 30, Appendix
    I); in English 'Kiều Phú, 1 December 2026'."""
    if lang != "vi":
        return f"{place}, {day.day} {day.strftime('%B')} {day.year}"
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def number_line(number: int | None, suffix: str) -> str:
    """'Số: 12/BC-UBND', or 'Số:      /BC-UBND' for the registry to fill in."""
    return f"Số: {number}/{suffix}" if number is not None else f"Số:{NBSP * 8}/{suffix}"


def _num(value: float, digits: int, lang: str) -> str:
    out = f"{value:,.{digits}f}"
    return out.replace(",", " ").replace(".", ",").replace(" ", ".") if lang == "vi" else out


def duration(seconds: float | None, lang: str) -> str:
    """'2 giờ 15 phút', '35 phút', '3 phút 30 giây', '7 ngày' ('–' for None): the two largest units, seconds only
    under 10 minutes."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s} {text(lang, 'report.unit.s')}"
    hours, minutes = divmod(s // 60, 60)
    days, hours = divmod(hours, 24)
    amounts = ((days, "d"), (hours, "h"), (minutes, "min"), (s % 60, "s")) if s < 600 or days else (
        (hours, "h"), (minutes, "min"))
    shown = [f"{n} {text(lang, f'report.unit.{unit}')}" for n, unit in amounts if n]
    return " ".join(shown[:2])


def _day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _kind(kind: str | None, lang: str) -> str:
    if kind is None:
        return text(lang, "report.total")
    name = text(lang, f"report.kind.{kind}")
    return kind if name == f"report.kind.{kind}" else name


def _level(level: str | None, lang: str) -> str:
    return text(lang, level) if level in ("BD1", "BD2", "BD3", "RECORD") else (level or "–")


def subtitle(data: ReportData, lang: str) -> str:
    """'Tình hình … tuần từ ngày 23/11/2026 đến ngày 29/11/2026' (or of a month, or of any days)."""
    first, last = data.period.first_day(data.timezone), data.period.last_day(data.timezone)
    key = {"weekly": "report.subtitle.weekly", "monthly": "report.subtitle.monthly"}.get(data.period.kind,
                                                                                        "report.subtitle.custom")
    return text(lang, key).format(first=_day(first), last=_day(last), month=first.month, year=first.year)


def _levels_section(data: ReportData, lang: str) -> list[Block]:
    rows = []
    for s in data.station_days:
        if s.peak is None:
            rows.append((s.name, "–", "–", "–"))
            continue
        ts, top = s.peak
        reached = [name for name, m in s.levels if top >= m]
        rows.append((s.name, _num(top, 2, lang), _local(ts, data.timezone),
                     _level(reached[-1], lang) if reached else text(lang, "report.below_alarm")))
    blocks: list[Block] = [text(lang, "report.levels.intro"), Table(
        tuple(text(lang, k) for k in ("report.col.station", "report.col.peak_m", "report.col.peak_time",
                                      "report.col.level_reached")), tuple(rows), (3, 2, 2.4, 2.4))]
    labels = [d.strftime("%d/%m") for d in data.days]
    for s in data.station_days:
        png = charts.daily_levels_png(text(lang, "report.chart.levels").format(station=s.name), labels,
                                      s.daily_max_m, s.levels, [text(lang, f"{n}.short") for n, _ in s.levels],
                                      text(lang, "report.no_data"), lang == "vi")
        blocks.append(Chart(text(lang, "report.chart.levels_caption").format(station=s.name), png))
    return blocks


def _alerts_section(data: ReportData, lang: str) -> list[Block]:
    if not data.alert_counts:
        return [text(lang, "report.alerts.none")]
    names = {s.subject: s.name for s in (*data.stations, *data.cameras)}
    rows = tuple((_kind(c.kind, lang), _level(c.level, lang), str(c.count),
                  "; ".join(f"{names.get(sub, sub)}: {n}" for sub, n in c.by_subject)) for c in data.alert_counts)
    rows += ((text(lang, "report.total"), "", str(data.alerts_total), ""),)
    labels = [d.strftime("%d/%m") for d in data.days]
    png = charts.alerts_per_day_png(text(lang, "report.chart.alerts"), labels, data.alerts_per_day,
                                    {g: text(lang, f"report.group.{g}") for g in charts.GROUP_COLOURS},
                                    text(lang, "report.no_data"))
    return [text(lang, "report.alerts.intro").format(total=data.alerts_total), Table(
        tuple(text(lang, k) for k in ("report.col.kind", "report.col.level", "report.col.count",
                                      "report.col.by_subject")), rows, (3.2, 2, 1.2, 4)),
        Chart(text(lang, "report.chart.alerts_caption"), png)]


def _response_row(r: Response, lang: str) -> tuple[str, ...]:
    return (_kind(r.kind, lang), str(r.opened), str(r.acknowledged), duration(r.median_s, lang),
            duration(r.p90_s, lang), duration(r.max_s, lang), str(r.unacknowledged))


def _response_section(data: ReportData, lang: str) -> list[Block]:
    total = data.total_response
    if not total.opened:
        return [text(lang, "report.alerts.none")]
    return [text(lang, "report.response.intro").format(median=duration(total.median_s, lang),
                                                       p90=duration(total.p90_s, lang),
                                                       unacknowledged=total.unacknowledged),
            Table(tuple(text(lang, k) for k in ("report.col.kind", "report.col.opened", "report.col.acknowledged",
                                                "report.col.median", "report.col.p90", "report.col.max",
                                                "report.col.unacknowledged")),
                  tuple(_response_row(r, lang) for r in data.responses), (3, 1.3, 1.5, 1.6, 1.6, 1.6, 1.5))]


def _availability_rows(items: Sequence[Availability], lang: str) -> tuple[tuple[str, ...], ...]:
    return tuple((a.name, _num(a.received, 0, lang), _num(a.expected, 0, lang), f"{_num(a.ratio * 100, 1, lang)} %",
                  duration(a.longest_gap_s, lang)) for a in items)


def _devices_section(data: ReportData, lang: str) -> list[Block]:
    heads = ("report.col.received", "report.col.expected", "report.col.availability", "report.col.longest_gap")
    blocks: list[Block] = [text(lang, "report.devices.stations")]
    blocks.append(Table((text(lang, "report.col.station"), *(text(lang, k) for k in heads)),
                        _availability_rows(data.stations, lang), (3, 1.6, 1.6, 1.5, 2.2))
                  if data.stations else text(lang, "report.none"))
    blocks.append(text(lang, "report.devices.cameras"))
    blocks.append(Table((text(lang, "report.col.camera"), *(text(lang, k) for k in heads)),
                        _availability_rows(data.cameras, lang), (3, 1.6, 1.6, 1.5, 2.2))
                  if data.cameras else text(lang, "report.none"))
    return blocks


def _dust_section(data: ReportData, lang: str) -> list[Block]:
    if not data.dust:
        return [text(lang, "report.none")]
    rows = tuple((d.site, str(d.episodes), duration(d.duration_s, lang) if d.episodes else "–", str(d.confirmed),
                  str(d.false_alarms), str(d.episodes - d.confirmed - d.false_alarms)) for d in data.dust)
    return [text(lang, "report.dust.intro").format(total=sum(d.episodes for d in data.dust)),
            Table(tuple(text(lang, k) for k in ("report.col.site", "report.col.episodes", "report.col.duration",
                                                "report.col.confirmed", "report.col.false_alarms",
                                                "report.col.unmarked")), rows, (3.2, 1.4, 2, 1.6, 1.6, 1.6))]


def _bulletins_section(data: ReportData, lang: str) -> list[Block]:
    kinds = ", ".join(f"{text(lang, f'report.bulletin.{k}')}: {n}" for k, n in data.bulletins_by_kind)
    blocks: list[Block] = [text(lang, "report.bulletins.intro").format(total=data.bulletins_published,
                                                                       kinds=kinds or "–")]
    if data.channels:
        blocks.append(Table(tuple(text(lang, k) for k in ("report.col.receiver", "report.col.channel",
                                                          "report.col.bulletins", "report.col.delivered",
                                                          "report.col.failed", "report.col.waiting")),
                            tuple((c.receiver, c.channel, str(c.bulletins), str(c.delivered), str(c.failed),
                                   str(c.waiting)) for c in data.channels), (2.6, 2, 1.4, 1.5, 1.5, 1.5)))
    return blocks


def _local(ts: float, timezone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).strftime("%H:%M %d/%m/%Y")


def notable_line(n: Notable, timezone: str, lang: str) -> str:
    """One notable event as a sentence, with its local time."""
    values = {k: (duration(v, lang) if k.endswith("_s") else _num(v, 2, lang)) if isinstance(v, float) else v
              for k, v in n.values.items()}
    if "level" in values and isinstance(n.values["level"], str):
        values["level"] = _level(str(n.values["level"]), lang)
    if "kind" in values:
        values["kind"] = _kind(str(n.values["kind"]), lang)
    key = n.key + ("" if "peak_m" in values or n.key != "report.notable.flood" else ".no_peak")
    return f"{_local(n.ts, timezone)}: " + text(lang, key).format(**values)


def build(data: ReportData, settings: ReportSettings, issued: date, number: int | None,
          made_ts: float, lang: str = "vi") -> ReportDocument:
    """The document of a report's figures, issued on local day `issued` (its date line) with `number` (None: blank)."""
    notable: list[Block] = [notable_line(n, data.timezone, lang) for n in data.notable] or [text(lang, "report.none")]
    parts: list[tuple[str, list[Block]]] = [
        ("report.section.levels", _levels_section(data, lang)),
        ("report.section.alerts", _alerts_section(data, lang)),
        ("report.section.response", _response_section(data, lang)),
        ("report.section.devices", _devices_section(data, lang)),
        ("report.section.dust", _dust_section(data, lang)),
        ("report.section.bulletins", _bulletins_section(data, lang)),
        ("report.section.notable", notable),
    ]
    sections = tuple(Section(f"{ROMAN[i]}. {text(lang, key)}", tuple(blocks)) for i, (key, blocks) in enumerate(parts))
    return ReportDocument(
        parent_body=settings.parent_body, issuing_body=settings.issuing_body,
        number=number_line(number, settings.number_suffix), nation=text(lang, "report.nation"),
        motto=text(lang, "report.motto"), place_date=place_date(settings.place_name, issued, lang),
        title=text(lang, "report.title"), subtitle=subtitle(data, lang),
        intro=text(lang, "report.intro").format(preparer=settings.preparer),
        sections=sections,
        closing=text(lang, "report.closing").format(preparer=settings.preparer,
                                                    made=_local(made_ts, data.timezone)),
        recipients_heading=text(lang, "report.recipients"), recipients=tuple(f"- {r}" for r in settings.recipients),
        signer_authority=settings.signer_authority, signer_title=settings.signer_title,
        signer_name=settings.signer_name)
