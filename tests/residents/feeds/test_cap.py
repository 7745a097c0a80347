"""CAP 1.2 messages of alert changes are valid (OASIS schema and CAP rules) and say what to do until when; the
hand-written rule checker catches what breaks them, and so does the schema where it can."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.residents.conftest import NOW, World
from tests.residents.feeds.cap_schema import schema_problems
from tichwatch.alerts import storage as alert_storage
from tichwatch.alerts.model import resolve
from tichwatch.residents.feeds.cap import CAP_NS, cap_codes, cap_time, instruction
from tichwatch.residents.feeds.cap_rules import cap_problems

NS = {"cap": CAP_NS}


def _messages(world: World) -> list[bytes]:
    feeds = world.service.feeds  # type: ignore[attr-defined]
    alert = alert_storage.open_alert(world.service.store.query_all, "flood.level", "st1")
    assert alert is not None
    with world.service.store.transaction() as conn:
        change = resolve(alert, NOW + 3600, "officer", "nước đã rút")
        assert change.alert is not None
        alert_storage.save_alert(conn, change.alert)
        alert_storage.add_audit(conn, change.audit)
    out = []
    for m in feeds.messages(change.alert):
        found = feeds.cap(m.message_id)
        assert found is not None
        out.append(found.xml)
    return out


def test_alert_update_cancel_chain_is_valid_cap(world: World) -> None:
    first, update, cancel = _messages(world)
    for body in (first, update, cancel):
        assert cap_problems(body) == [] and schema_problems(body) == []
    roots = [ET.fromstring(b) for b in (first, update, cancel)]
    assert [r.findtext("cap:msgType", namespaces=NS) for r in roots] == ["Alert", "Update", "Cancel"]
    ids = [r.findtext("cap:identifier", namespaces=NS) for r in roots]
    sents = [r.findtext("cap:sent", namespaces=NS) for r in roots]
    assert sents[0] == "2026-09-20T02:00:00+07:00"
    sender = "tichwatch@kieuphu.hanoi.gov.vn"
    assert roots[0].find("cap:references", NS) is None
    assert roots[1].findtext("cap:references", namespaces=NS) == f"{sender},{ids[0]},{sents[0]}"
    assert roots[2].findtext("cap:references", namespaces=NS) == f"{sender},{ids[0]},{sents[0]} " \
                                                                  f"{sender},{ids[1]},{sents[1]}"
    infos = roots[1].findall("cap:info", NS)
    assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["vi-VN", "en-US"]
    vi = infos[0]
    assert (vi.findtext("cap:category", namespaces=NS), vi.findtext("cap:severity", namespaces=NS),
            vi.findtext("cap:urgency", namespaces=NS), vi.findtext("cap:certainty", namespaces=NS),
            vi.findtext("cap:responseType", namespaces=NS)) == ("Met", "Severe", "Expected", "Observed", "Prepare")
    assert vi.findtext("cap:event", namespaces=NS) == "Lũ sông – báo động II"
    assert "7,31 m" in vi.findtext("cap:headline", namespaces=NS, default="")
    assert vi.findtext("cap:area/cap:circle", namespaces=NS) == "20.991000,105.633000 2"
    assert "Vĩnh Phúc" in vi.findtext("cap:area/cap:areaDesc", namespaces=NS, default="")
    assert roots[0].find("cap:info/cap:severity", NS).text == "Moderate"  # type: ignore[union-attr]  # BD1
    end = roots[2].find("cap:info", NS)
    assert end is not None and end.findtext("cap:responseType", namespaces=NS) == "AllClear"
    # an officer's resolve reason is free text for colleagues: never in a public message
    assert roots[2].find("cap:note", NS) is None
    assert "nước đã rút" not in ET.tostring(roots[2], encoding="unicode")
    # every message says until when it is in force: alerts and updates 6 h, the all-clear 1 h (defaults)
    assert [r.findtext("cap:info/cap:expires", namespaces=NS) for r in roots] == [
        "2026-09-20T08:00:00+07:00", "2026-09-20T11:00:00+07:00", "2026-09-20T09:00:00+07:00"]
    # and what to do, per level, Vietnamese first
    assert "theo dõi thông báo" in (roots[0].findtext("cap:info/cap:instruction", namespaces=NS) or "")
    assert "Chuẩn bị sẵn sàng sơ tán" in (vi.findtext("cap:instruction", namespaces=NS) or "")
    assert "Get ready to evacuate" in (infos[1].findtext("cap:instruction", namespaces=NS) or "")
    assert "xuống dưới mức báo động" in (end.findtext("cap:instruction", namespaces=NS) or "")
    # said once: the description leaves the advice to <instruction>
    descriptions = [i.findtext("cap:description", namespaces=NS) or ""
                    for r in roots for i in r.findall("cap:info", NS)]
    assert descriptions and not any("Việc cần làm" in d or "What to do" in d for d in descriptions)


def test_instructions_follow_the_level_and_kind_in_both_languages() -> None:
    assert "Di dời ngay người già, trẻ em" in instruction("flood.level", "BD3", "Alert", "vi")
    assert "không qua ngầm, tràn" in instruction("flood.level", "BD3", "Update", "vi").lower()
    assert "Move elderly people, children" in instruction("flood.level", "BD3", "Update", "en")
    assert "mức lịch sử" in instruction("flood.level", "RECORD", "Update", "vi")
    assert "dự báo lên báo động III" in instruction("flood.forecast", "BD3", "Alert", "vi")
    assert "lên nhanh" in instruction("flood.rapid_rise", "BD1", "Alert", "vi")
    assert "khẩu trang" in instruction("dust.plume", None, "Alert", "vi")
    assert "đã kết thúc" in instruction("flood.forecast", "BD3", "Cancel", "vi")
    assert instruction("something.else", None, "Alert", "en") == "Follow the commune's announcements."
    levels = [instruction("flood.level", lv, "Alert", "vi") for lv in ("BD1", "BD2", "BD3", "RECORD")]
    assert len(set(levels)) == 4  # each level says something of its own


def test_mapping_and_times() -> None:
    assert cap_codes("flood.level", "BD3", "Alert").severity == "Extreme"
    assert cap_codes("flood.forecast", "BD2", "Update").certainty == "Likely"
    assert cap_codes("dust.plume", None, "Alert").response == "Avoid"
    assert cap_codes("flood.level", "BD3", "Cancel").urgency == "Past"
    assert cap_codes("something.else", None, "Alert").severity == "Unknown"
    assert cap_time(NOW + 0.7, "Asia/Ho_Chi_Minh") == "2026-09-20T07:00:00+07:00"
    assert cap_time(NOW, "UTC") == "2026-09-20T00:00:00-00:00"


GOOD = (f'<alert xmlns="{CAP_NS}"><identifier>a-1</identifier><sender>s@x</sender>'
        '<sent>2026-09-20T07:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>'
        '<info><category>Met</category><event>Flood</event><urgency>Expected</urgency><severity>Severe</severity>'
        '<certainty>Observed</certainty><area><areaDesc>X</areaDesc><polygon>20,105 20,106 21,106 20,105</polygon>'
        '<circle>20.9,105.6 2</circle></area></info></alert>')


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("+07:00</sent>", "Z</sent>", "not a CAP dateTime"),
    ("07:00:00+07:00</sent>", "07:00:00.5+07:00</sent>", "not a CAP dateTime"),
    ("+07:00</sent>", "+00:00</sent>", "UTC must be written -00:00"),
    ("<msgType>Alert", "<msgType>Warning", "is not one of"),
    ("<msgType>Alert", "<msgType>Update", "must name the earlier messages"),
    ("<identifier>a-1", "<identifier>a 1", "without spaces"),
    ("<scope>Public", "<scope>Restricted", "needs <restriction>"),
    ("<severity>Severe</severity>", "", "<severity> is required"),
    ("<category>Met</category><event>Flood</event>", "<event>Flood</event><category>Met</category>",
     "not allowed here"),
    ("20.9,105.6 2", "20.9;105.6 2", "not a circle"),
    ("20,105 20,106 21,106 20,105", "20,105 20,106 21,106", "at least 4"),
    ("<certainty>Observed", "<certainty>Sure", "is not one of"),
])
def test_validator_catches_broken_messages(old: str, new: str, problem: str) -> None:
    assert cap_problems(GOOD.encode()) == [] and schema_problems(GOOD.encode()) == []
    broken = GOOD.replace(old, new, 1)
    assert broken != GOOD
    problems = cap_problems(broken.encode())
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(("old", "new"), [
    ("+07:00</sent>", "Z</sent>"),  # the schema's pattern wants a numeric offset
    ("<msgType>Alert", "<msgType>Warning"),
    ("<severity>Severe</severity>", ""),
    ("<category>Met</category><event>Flood</event>", "<event>Flood</event><category>Met</category>"),
    ("<certainty>Observed", "<certainty>Sure"),
])
def test_the_schema_refuses_what_the_rules_refuse_where_it_can(old: str, new: str) -> None:
    assert schema_problems(GOOD.replace(old, new, 1).encode()) != []


def test_validator_rejects_references_in_bad_form_and_foreign_roots() -> None:
    body = GOOD.replace("<msgType>Alert</msgType><scope>Public</scope>",
                        "<msgType>Update</msgType><scope>Public</scope><references>s@x,a-0</references>")
    assert any("sender,identifier,sent" in p for p in cap_problems(body.encode()))
    assert cap_problems(b"<alert/>")[0].startswith("the root element must be <alert>")
    assert cap_problems(b"<alert")[0].startswith("not well-formed")
