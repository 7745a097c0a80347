"""The portal widget's page and loader over HTTP: who may frame what, the page's options, the texts its script uses,
and the polling it does being answered 304 from the public snapshots."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.api.conftest import NOW
from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.api.framing import with_framing_denied
from tichwatch.api.routes_dashboard import STATIC_DIR
from tichwatch.app.service import Service
from tichwatch.config.widget import WidgetSettings
from tichwatch.core.samples import Reading

PORTAL = "https://kieuphu.hanoi.gov.vn"


@contextmanager
def client(tmp_path: Path, **overrides: Any) -> Iterator[tuple[TestClient, Service]]:
    """A test client of an app with these settings overrides."""
    svc = Service(make_settings(tmp_path / "data", **overrides))
    try:
        with TestClient(create_app(svc, manage_lifecycle=False)) as c:
            yield c, svc
    finally:
        svc.store.close()


def page_config(html: str) -> dict[str, Any]:
    """The JSON the page hands its script."""
    found = re.search(r'<script type="application/json" id="tw-widget-config">(.*?)</script>', html, re.S)
    assert found, "the page carries no configuration"
    parsed: dict[str, Any] = json.loads(found.group(1))
    return parsed


def test_frame_ancestor_entries_are_origins_or_a_lone_star() -> None:
    ok = WidgetSettings(frame_ancestors=["https://Portal.Example.gov.vn/", "http://127.0.0.1:8000",
                                         "https://*.hanoi.gov.vn", "https://portal.example.gov.vn"])
    assert ok.frame_ancestors == ["https://portal.example.gov.vn", "http://127.0.0.1:8000", "https://*.hanoi.gov.vn"]
    assert WidgetSettings(frame_ancestors=["*"]).frame_ancestors == ["*"]
    for bad in ("'self'", "https://a.example/path", "https://a.example; script-src *", "https://a.example b.example",
                "javascript:alert(1)", "data:", "ftp://a.example", "*.example", ""):
        with pytest.raises(ValidationError):
            WidgetSettings(frame_ancestors=[bad])
    with pytest.raises(ValidationError, match="alone"):
        WidgetSettings(frame_ancestors=["*", PORTAL])
    with pytest.raises(ValidationError):
        WidgetSettings(frame_ancestors=[f"https://s{i}.example" for i in range(21)])


def test_by_default_no_site_may_frame_the_widget(tmp_path: Path) -> None:
    with client(tmp_path) as (c, _):
        r = c.get("/widget")
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["content-security-policy"].endswith("frame-ancestors 'none'")
        assert r.headers["x-frame-options"] == "DENY"


def test_only_the_widget_may_be_framed_and_only_by_the_named_sites(tmp_path: Path) -> None:
    with client(tmp_path, widget={"frame_ancestors": [PORTAL, "https://*.hanoi.gov.vn"]}) as (c, _):
        r = c.get("/widget")
        policy = dict(p.strip().split(" ", 1) for p in r.headers["content-security-policy"].split(";"))
        assert policy["frame-ancestors"] == f"{PORTAL} https://*.hanoi.gov.vn"
        assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'" and "unsafe" not in r.headers["content-security-policy"]
        assert "x-frame-options" not in r.headers  # it cannot name sites; CSP does
        assert "set-cookie" not in r.headers and r.headers["referrer-policy"] == "no-referrer"
        for path in ("/", "/alerts/x", "/bulletins/desk", "/docs", "/api/v1/status", "/api/v1/stations",
                     "/api/v1/ack/not-a-token", "/static/widget.js", "/widget.js", "/no/such/page"):
            got = c.get(path)
            assert got.headers.get("x-frame-options") == "DENY", path
            assert "frame-ancestors 'none'" in got.headers["content-security-policy"], path


def test_framing_denied_unless_the_answer_says_otherwise() -> None:
    assert with_framing_denied([]) == [(b"x-frame-options", b"DENY"),
                                       (b"content-security-policy", b"frame-ancestors 'none'")]
    own = [(b"content-security-policy", b"default-src 'self'")]
    assert with_framing_denied(own) == [*own, (b"x-frame-options", b"DENY")]
    named = [(b"content-security-policy", b"default-src 'none'; frame-ancestors https://a.example")]
    assert with_framing_denied(named) == named
    assert with_framing_denied([(b"X-Frame-Options", b"SAMEORIGIN")]) == [(b"X-Frame-Options", b"SAMEORIGIN")]


def test_page_language_theme_and_fallbacks(tmp_path: Path) -> None:
    with client(tmp_path, widget={"refresh_s": 45}) as (c, _):
        vi = c.get("/widget")
        assert '<html lang="vi" data-theme="light">' in vi.text and "Xã Kiều Phú" in vi.text
        config = page_config(vi.text)
        assert config["lang"] == "vi" and config["refresh_s"] == 45 and config["public_kinds"] == ["flood.", "dust."]
        en = c.get("/widget?lang=en&theme=dark&stations=st1")
        assert '<html lang="en" data-theme="dark">' in en.text and "Kiều Phú commune" in en.text
        assert page_config(en.text)["texts"]["widget.bulletin"] == "Latest bulletin"
        odd = c.get("/widget?lang=fr&theme=%22%3E%3Cscript%3E")  # a typo shows the default widget, never an error
        assert odd.status_code == 200 and '<html lang="vi" data-theme="light">' in odd.text
        again = c.get("/widget", headers={"If-None-Match": vi.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_every_text_the_script_asks_for_is_in_the_page(tmp_path: Path) -> None:
    script = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    keys = set(re.findall(r"\btf?\(\"([\w.]+)\"", script))
    assert len(keys) > 15
    with client(tmp_path) as (c, _):
        for lang in ("vi", "en"):
            texts = page_config(c.get(f"/widget?lang={lang}").text)["texts"]
            assert keys <= set(texts), keys - set(texts)
            assert {"BD1.short", "BD2", "sensor.offline", "normal"} <= set(texts)


def test_commune_name_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    evil = 'A</script><script>alert(1)</script>"'
    with client(tmp_path, commune=evil) as (c, _):
        html = c.get("/widget").text
        assert "<script>alert(1)" not in html
        assert evil.replace('"', "&#34;").replace("<", "&lt;").replace(">", "&gt;") in html


def test_loader_names_the_frame_in_both_languages(tmp_path: Path) -> None:
    with client(tmp_path) as (c, _):
        r = c.get("/widget.js")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
        assert r.headers["cross-origin-resource-policy"] == "cross-origin"
        assert "__TITLES__" not in r.text and "Mực nước sông Tích – TichWatch" in r.text
        assert "Tích river levels – TichWatch" in r.text and "event.origin !== origin" in r.text


def test_switched_off_widget_is_not_served(tmp_path: Path) -> None:
    with client(tmp_path, widget={"enabled": False}) as (c, _):
        assert c.get("/widget").status_code == 404 and c.get("/widget.js").status_code == 404


def test_the_widgets_polling_is_answered_304_from_snapshots(tmp_path: Path) -> None:
    script = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    paths = re.findall(r'getJSON\("(/api/v1/[^"]+)"\)', script)
    assert len(paths) == 4
    with client(tmp_path) as (c, svc):
        svc.store.append_readings([Reading("st1", NOW - 60, 5.0)])
        for path in paths:
            first = c.get(path)
            assert first.status_code == 200 and first.headers["etag"], path
            again = c.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304 and again.content == b"", path
