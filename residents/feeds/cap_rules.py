"""The rules of CAP 1.2 (OASIS Standard, 1 July 2010, section 3) as a validator: element order and multiplicity as in
the standard's XML schema, the value lists, dateTime with a numeric offset (no "Z", UTC as -00:00, no fractional
seconds), identifiers without spaces, commas, '<' or '&', references as "sender,identifier,sent" triples, polygons
and circles, and the conditional rules (restriction with scope Restricted, addresses with Private). Our profile adds
one: Update and Cancel messages name the earlier messages in <references>.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from tichwatch.residents.feeds.cap import CAP_NS

Spec = Sequence[tuple[str, int, int | None]]
"""An element's children in order: (name, least, most or None for unbounded)."""

ALERT: Spec = (("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1), ("status", 1, 1), ("msgType", 1, 1),
               ("source", 0, 1), ("scope", 1, 1), ("restriction", 0, 1), ("addresses", 0, 1), ("code", 0, None),
               ("note", 0, 1), ("references", 0, 1), ("incidents", 0, 1), ("info", 0, None))
INFO: Spec = (("language", 0, 1), ("category", 1, None), ("event", 1, 1), ("responseType", 0, None),
              ("urgency", 1, 1), ("severity", 1, 1), ("certainty", 1, 1), ("audience", 0, 1), ("eventCode", 0, None),
              ("effective", 0, 1), ("onset", 0, 1), ("expires", 0, 1), ("senderName", 0, 1), ("headline", 0, 1),
              ("description", 0, 1), ("instruction", 0, 1), ("web", 0, 1), ("contact", 0, 1),
              ("parameter", 0, None), ("resource", 0, None), ("area", 0, None))
RESOURCE: Spec = (("resourceDesc", 1, 1), ("mimeType", 1, 1), ("size", 0, 1), ("uri", 0, 1), ("derefUri", 0, 1),
                  ("digest", 0, 1))
AREA: Spec = (("areaDesc", 1, 1), ("polygon", 0, None), ("circle", 0, None), ("geocode", 0, None),
              ("altitude", 0, 1), ("ceiling", 0, 1))
NAMED_VALUE: Spec = (("valueName", 1, 1), ("value", 1, 1))

VALUES: dict[str, frozenset[str]] = {
    "status": frozenset({"Actual", "Exercise", "System", "Test", "Draft"}),
    "msgType": frozenset({"Alert", "Update", "Cancel", "Ack", "Error"}),
    "scope": frozenset({"Public", "Restricted", "Private"}),
    "category": frozenset({"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
                           "Infra", "CBRNE", "Other"}),
    "responseType": frozenset({"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
                               "None"}),
    "urgency": frozenset({"Immediate", "Expected", "Future", "Past", "Unknown"}),
    "severity": frozenset({"Extreme", "Severe", "Moderate", "Minor", "Unknown"}),
    "certainty": frozenset({"Observed", "Likely", "Possible", "Unlikely", "Unknown"}),
}
"""The closed value lists of CAP 1.2."""

DATETIME = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d[+-]"
                      r"(0\d|1[0-4]):[0-5]\d$")
"""A CAP dateTime: seconds, a numeric offset, nothing else."""
_ID_FORBIDDEN = re.compile(r"[\s,<&]")
_NUMBER = r"-?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^({_NUMBER}),({_NUMBER})$")
_CIRCLE = re.compile(rf"^({_NUMBER}),({_NUMBER}) (\d+(?:\.\d+)?)$")
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _local(el: ET.Element) -> str:
    return el.tag.split("}", 1)[-1]


class _Checker:
    """Collects the problems of one message."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def sequence(self, el: ET.Element, spec: Spec, where: str) -> dict[str, list[ET.Element]]:
        """Check the children's names, order and counts; return them by name."""
        children, i, found = list(el), 0, {}  # type: list[ET.Element], int, dict[str, list[ET.Element]]
        for name, least, most in spec:
            run = []
            while i < len(children) and children[i].tag == f"{{{CAP_NS}}}{name}":
                run.append(children[i])
                i += 1
            if len(run) < least:
                self.fail(where, f"<{name}> is required")
            if most is not None and len(run) > most:
                self.fail(where, f"<{name}> may appear at most {most} time(s)")
            found[name] = run
        for extra in children[i:]:
            self.fail(where, f"<{_local(extra)}> is not allowed here (unknown element, wrong order or namespace)")
        return found

    def text(self, found: dict[str, list[ET.Element]], name: str) -> list[str]:
        return [(e.text or "").strip() for e in found.get(name, [])]

    def values(self, found: dict[str, list[ET.Element]], name: str, where: str) -> None:
        for value in self.text(found, name):
            if value not in VALUES[name]:
                self.fail(where, f"<{name}> {value!r} is not one of {sorted(VALUES[name])}")

    def time(self, value: str, where: str) -> None:
        if not DATETIME.match(value):
            self.fail(where, f"{value!r} is not a CAP dateTime like 2026-09-20T07:10:00+07:00")
        elif value.endswith("+00:00"):
            self.fail(where, f"{value!r}: UTC must be written -00:00")

    def ident(self, value: str, where: str) -> None:
        if not value or _ID_FORBIDDEN.search(value):
            self.fail(where, f"{value!r} must be non-empty without spaces, commas, '<' or '&'")

    def point(self, lat: str, lon: str, where: str) -> None:
        if not (-90 <= float(lat) <= 90 and -180 <= float(lon) <= 180):
            self.fail(where, f"{lat},{lon} is not a WGS 84 latitude,longitude")

    def polygon(self, value: str, where: str) -> None:
        pairs = value.split()
        matches = [_PAIR.match(p) for p in pairs]
        if len(pairs) < 4 or any(m is None for m in matches) or pairs[0] != pairs[-1]:
            self.fail(where, "a polygon is at least 4 'lat,lon' pairs separated by spaces, the first equal to the last")
            return
        for m in matches:
            assert m is not None
            self.point(m[1], m[2], where)

    def circle(self, value: str, where: str) -> None:
        m = _CIRCLE.match(value)
        if m is None:
            self.fail(where, f"{value!r} is not a circle 'lat,lon radius_km'")
        else:
            self.point(m[1], m[2], where)


def _check_info(c: _Checker, info: ET.Element, where: str) -> None:
    found = c.sequence(info, INFO, where)
    for name in ("category", "responseType", "urgency", "severity", "certainty"):
        c.values(found, name, where)
    for lang in c.text(found, "language"):
        if not _LANGUAGE.match(lang):
            c.fail(where, f"<language> {lang!r} is not an RFC 3066 code such as vi-VN")
    for name in ("effective", "onset", "expires"):
        for value in c.text(found, name):
            c.time(value, f"{where}/{name}")
    for web in c.text(found, "web"):
        if not _URI.match(web):
            c.fail(where, f"<web> {web!r} is not an absolute URI")
    for name in ("eventCode", "parameter"):
        for i, el in enumerate(found[name], 1):
            c.sequence(el, NAMED_VALUE, f"{where}/{name}[{i}]")
    for i, el in enumerate(found["resource"], 1):
        c.sequence(el, RESOURCE, f"{where}/resource[{i}]")
    for i, el in enumerate(found["area"], 1):
        _check_area(c, el, f"{where}/area[{i}]")


def _check_area(c: _Checker, area: ET.Element, where: str) -> None:
    found = c.sequence(area, AREA, where)
    for value in c.text(found, "polygon"):
        c.polygon(value, where)
    for value in c.text(found, "circle"):
        c.circle(value, where)
    for i, el in enumerate(found["geocode"], 1):
        c.sequence(el, NAMED_VALUE, f"{where}/geocode[{i}]")
    if found["ceiling"] and not found["altitude"]:
        c.fail(where, "<ceiling> needs <altitude>")


def cap_problems(xml: bytes) -> list[str]:
    """Every way the message breaks CAP 1.2 (an empty list: it is valid)."""
    c = _Checker()
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != f"{{{CAP_NS}}}alert":
        return [f"the root element must be <alert> in {CAP_NS}, not {root.tag}"]
    found = c.sequence(root, ALERT, "alert")
    for name in ("status", "msgType", "scope"):
        c.values(found, name, "alert")
    for name in ("identifier", "sender"):
        for value in c.text(found, name):
            c.ident(value, f"alert/{name}")
    for value in c.text(found, "sent"):
        c.time(value, "alert/sent")
    scope, msg_type = c.text(found, "scope")[:1], c.text(found, "msgType")[:1]
    if scope == ["Restricted"] and not found["restriction"]:
        c.fail("alert", "scope Restricted needs <restriction>")
    if scope == ["Private"] and not found["addresses"]:
        c.fail("alert", "scope Private needs <addresses>")
    for refs in c.text(found, "references"):
        for triple in refs.split():
            parts = triple.split(",")
            if len(parts) != 3:
                c.fail("alert/references", f"{triple!r} is not 'sender,identifier,sent'")
                continue
            c.ident(parts[0], "alert/references sender")
            c.ident(parts[1], "alert/references identifier")
            c.time(parts[2], "alert/references sent")
    if msg_type and msg_type[0] in ("Update", "Cancel") and not c.text(found, "references"):
        c.fail("alert", f"a {msg_type[0]} message must name the earlier messages in <references>")
    for i, info in enumerate(found["info"], 1):
        _check_info(c, info, f"alert/info[{i}]")
    return c.problems
