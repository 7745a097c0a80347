"""CAP 1.2 messages of alert changes pass the CAP 1.2 rules; the validator catches what breaks them."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.residents.conftest import NOW, World
from tichwatch.alerts import storage as alert_storage
from tichwatch.alerts.model import resolve
from tichwatch.residents.feeds.cap import CAP_NS, cap_codes, cap_time
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
        body = feeds.cap(m.message_id)
        assert body is not None
        out.append(body)
    return out


def test_alert_update_cancel_chain_is_valid_cap(world: World) -> None:
    first, update, cancel = _messages(world)
    for body in (first, update, cancel):
        assert cap_problems(body) == []
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
    assert end.find("cap:expires", NS) is None and roots[2].findtext("cap:note", namespaces=NS) == "nước đã rút"


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
    assert cap_problems(GOOD.encode()) == []
    broken = GOOD.replace(old, new, 1)
    assert broken != GOOD
    problems = cap_problems(broken.encode())
    assert any(problem in p for p in problems), problems


def test_validator_rejects_references_in_bad_form_and_foreign_roots() -> None:
    body = GOOD.replace("<msgType>Alert</msgType><scope>Public</scope>",
                        "<msgType>Update</msgType><scope>Public</scope><references>s@x,a-0</references>")
    assert any("sender,identifier,sent" in p for p in cap_problems(body.encode()))
    assert cap_problems(b"<alert/>")[0].startswith("the root element must be <alert>")
    assert cap_problems(b"<alert")[0].startswith("not well-formed")
