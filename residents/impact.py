"""Impact by hamlet, pure: which hamlets, roads, schools and households a level at a station affects (every level up
to it: at BĐ III the hamlets of BĐ I and II still have water), and the sentence that says so."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tichwatch.config.impact import LEVELS, ImpactSettings

LEVEL_RANKS = {"BD1": 1, "BD2": 2, "BD3": 3, "RECORD": 3}
"""Alarm level names (as alerts and statuses carry them) → the impact level they bring (a record flood: BĐ III's)."""
IMPACT_KINDS = ("flood.level", "flood.forecast")
"""Alert kinds whose messages name the hamlets: the level reached, and the level forecast ("sắp tới")."""


@dataclass(frozen=True)
class HamletRef:
    """A hamlet as messages name it."""

    id: str
    name: str
    households: int


@dataclass(frozen=True)
class Impact:
    """What a level at a station affects, with the action of the highest level that has one."""

    station_id: str
    level: int  # 1..3; 0 means none
    hamlets: tuple[HamletRef, ...]
    roads: tuple[str, ...]
    schools: tuple[str, ...]
    households: int
    action_vi: str
    action_en: str

    @property
    def hamlet_ids(self) -> tuple[str, ...]:
        """Ids of the affected hamlets, in configuration order."""
        return tuple(h.id for h in self.hamlets)

    def action(self, lang: str) -> str:
        """The action in a language ("vi" or "en"), Vietnamese when the English is not given."""
        return (self.action_en or self.action_vi) if lang == "en" else self.action_vi

    @property
    def empty(self) -> bool:
        """True when nothing is known to be affected."""
        return not (self.hamlets or self.roads or self.schools or self.households)


def _union(parts: Iterable[list[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for part in parts for x in part))


def impact_at(settings: ImpactSettings, station_id: str, level: int) -> Impact:
    """The impact of alarm level `level` (1..3; 0 or less: none) at a station: the union of every level up to it;
    households the highest level's figure (each level's figure counts all its water)."""
    entry = settings.of_station(station_id)
    level = max(0, min(3, level))
    if entry is None or level == 0:
        return Impact(station_id, level, (), (), (), 0, "", "")
    steps = [getattr(entry, name) for name in LEVELS[:level]]
    ids = _union(s.hamlets for s in steps)
    hamlets = tuple(HamletRef(h.id, h.name, h.households) for i in ids if (h := settings.hamlet(i)) is not None)
    acting = next((s for s in reversed(steps) if s.action_vi or s.action_en), None)
    return Impact(station_id, level, hamlets, _union(s.roads for s in steps), _union(s.schools for s in steps),
                  max(s.households for s in steps), acting.action_vi if acting else "",
                  acting.action_en if acting else "")


def hamlets_affected(settings: ImpactSettings, levels: dict[str, int]) -> tuple[str, ...]:
    """Ids of every hamlet affected by the given levels per station (station id → level 0..3), configuration order."""
    hit = {h for sid, lvl in levels.items() for h in impact_at(settings, sid, lvl).hamlet_ids}
    return tuple(h.id for h in settings.hamlets if h.id in hit)


_LEVEL_NAMES = {"vi": ("", "Báo động I", "Báo động II", "Báo động III"),
                "en": ("", "Alarm level I", "Alarm level II", "Alarm level III")}


def _names(items: Iterable[str], lang: str) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    joiner = " và " if lang == "vi" else " and "
    return ", ".join(items[:-1]) + joiner + items[-1]


def impact_line(impact: Impact, lang: str, *, coming: bool = False) -> str:
    """One sentence naming who must act and what to do: "Báo động II: Thôn 1 và Thôn 2 — ngập Đường liên thôn
    1 – 2; Trường mầm non thôn 2 — chuẩn bị di dời người già, trẻ em." ("" when nothing is configured). With
    `coming` (a forecast), the level is the one expected: "Sắp tới báo động II: …"."""
    if impact.empty or impact.level == 0:
        return ""
    lang = "en" if lang == "en" else "vi"
    level = _LEVEL_NAMES[lang][impact.level]
    if coming:
        level = f"Sắp tới {level[:1].lower()}{level[1:]}" if lang == "vi" else f"{level} expected"
    parts = [f"{level}: {_names((h.name for h in impact.hamlets), lang)}".rstrip(": ")]
    hit = [*impact.roads, *impact.schools]
    if hit:
        parts.append(("ngập " if lang == "vi" else "flooding ") + "; ".join(hit))
    if impact.action(lang):
        parts.append(impact.action(lang))
    return " — ".join(parts) + "."


def level_rank(level: str | None) -> int:
    """The impact level (0..3) of an alarm level name ("BD2" → 2; None or another name → 0)."""
    return LEVEL_RANKS.get(level or "", 0)


def impact_of_alert(settings: ImpactSettings, kind: str, subject: str, level: str | None) -> Impact | None:
    """What a flood alert means for the hamlets (the level reached, or for a forecast the level expected); None
    for other kinds and when nothing is configured for the station at that level."""
    if kind not in IMPACT_KINDS:
        return None
    impact = impact_at(settings, subject, level_rank(level))
    return None if impact.empty else impact


def impact_document(impact: Impact) -> dict[str, Any]:
    """An impact as public JSON (no personal data): the level (BD1..BD3), the hamlets by id and name, the roads and
    schools, the households figure and the action in both languages."""
    return {"level": f"BD{impact.level}" if impact.level else None,
            "hamlets": [{"id": h.id, "name": h.name} for h in impact.hamlets], "roads": list(impact.roads),
            "schools": list(impact.schools), "households": impact.households,
            "action": {"vi": impact.action("vi"), "en": impact.action("en")}}
