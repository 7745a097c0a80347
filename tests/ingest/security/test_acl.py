"""The Mosquitto ACL generated from the settings, the settings' own checks, and the documented example."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ingest.security.tls_broker import DOCS, GATEWAYS
from tests.support import make_settings
from tichwatch.config.gateway_auth import GatewayAuthSettings
from tichwatch.config.loader import DEFAULT_CONFIG, ConfigError, parse_settings
from tichwatch.ingest.gateway_auth_acl import mosquitto_acl


def acl_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_each_gateway_gets_only_its_own_topics_and_the_service_the_rest(tmp_path: Path) -> None:
    s = make_settings(tmp_path, mqtt={"username": "svc", "topic_prefix": "tich/v1"},
                      gateway_auth={"gateways": GATEWAYS, "readers": ["ops"]})
    assert acl_lines(mosquitto_acl(s)) == [
        "user svc",
        "topic read tich/v1/water/+/reading", "topic read tich/v1/rain/+/reading", "topic read tich/v1/camera/+/frame",
        "topic readwrite tich/v1/service/#", "topic readwrite tich/v1/alerts/#", "topic readwrite tich/v1/deadletter/#",
        "user gw-a", "topic write tich/v1/water/st1/reading", "topic write tich/v1/camera/cam1/frame",
        "user gw-b", "topic write tich/v1/water/st2/reading",
        "user ops", "topic read tich/v1/alerts/#", "topic read tich/v1/service/status",
        "topic read tich/v1/deadletter/#",
    ]


@pytest.mark.parametrize("mqtt, auth, message", [
    ({}, {"gateways": GATEWAYS}, "mqtt.username must be set"),
    ({"username": "gw-a"}, {"gateways": GATEWAYS}, "also a gateway"),
    ({"username": "svc"}, {"gateways": [{"username": "gw-x", "stations": ["nowhere"]}]}, "not configured"),
])
def test_the_generator_refuses_settings_it_cannot_express(tmp_path: Path, mqtt: dict[str, Any],
                                                          auth: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, ConfigError), match=message):  # unknown ids: also refused by the settings
        mosquitto_acl(make_settings(tmp_path, mqtt=mqtt, gateway_auth=auth))


@pytest.mark.parametrize("auth, message", [
    ({"gateways": [*GATEWAYS, {"username": "gw-c", "stations": ["st1"]}]}, "more than one gateway"),
    ({"gateways": GATEWAYS, "readers": ["gw-a"]}, "listed twice"),
    ({"gateways": GATEWAYS, "hmac_required": True}, "needs a key_env"),
    ({"gateways": [{"username": "gw:a"}]}, "should match pattern"),
])
def test_gateway_auth_settings_check_themselves(tmp_path: Path, auth: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_settings(tmp_path, gateway_auth=auth)


def test_hmac_required_needs_a_gateway_for_every_station_and_camera() -> None:
    auth = GatewayAuthSettings.model_validate({"hmac_required": True, "gateways": [
        {"username": "gw-a", "stations": ["st1"], "key_env": "K"}]})
    auth.check_subjects(["st1"], [])
    with pytest.raises(ValueError, match=r"stations without a gateway: \['st2'\]"):
        auth.check_subjects(["st1", "st2"], [])
    with pytest.raises(ValueError, match=r"cameras without a gateway: \['cam1'\]"):
        auth.check_subjects(["st1"], ["cam1"])


def documented_settings() -> Any:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    example = yaml.safe_load((DOCS / "gateway-auth.example.yaml").read_text(encoding="utf-8"))
    raw["mqtt"] = {**raw["mqtt"], **example["mqtt"]}
    raw["gateway_auth"] = example["gateway_auth"]
    return raw


def test_the_documented_acl_is_what_the_generator_makes_of_the_documented_settings(tmp_path: Path) -> None:
    assert mosquitto_acl(parse_settings(documented_settings(), "<docs>", env={})) == (
        DOCS / "tichwatch.acl").read_text(encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(documented_settings(), allow_unicode=True), encoding="utf-8")
    out = subprocess.run([sys.executable, str(DOCS / "make-acl.py"), str(site)], capture_output=True, text=True,
                         check=True)
    assert out.stdout == (DOCS / "tichwatch.acl").read_text(encoding="utf-8")
