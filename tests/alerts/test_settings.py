"""The `alerts:` block: defaults that work without secrets, the documented example, errors that say what is wrong."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import make_settings
from tichwatch.config.alerts import AlertSettings
from tichwatch.config.loader import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def test_defaults_send_to_the_log_and_mqtt() -> None:
    s = AlertSettings()
    assert [(r.name, r.channel.type) for r in s.receivers] == [("log", "log"), ("mqtt", "mqtt")]
    assert s.routes[0].receivers == ["log", "mqtt"]
    assert s.repeat.warning_s == 4 * 3600 and s.repeat.critical_s == 3600 and s.repeat.emergency_s == 1800


def test_the_documented_example_is_valid(tmp_path: Path) -> None:
    block = DOC.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    settings = make_settings(tmp_path, **yaml.safe_load(block))
    assert settings.alerts.receiver("truc-ban-sms") is not None
    assert [t.after_s for t in settings.alerts.escalation[0].tiers] == [900, 1800]


@pytest.mark.parametrize(("block", "message"), [
    ({"routes": [{"receivers": ["nobody"]}]}, "unknown receivers: ['nobody']"),
    ({"receivers": [{"name": "a", "channel": {"type": "log"}}] * 2, "routes": []}, "duplicate receiver names"),
    ({"escalation": [{"name": "e", "tiers": [{"name": "x", "after_s": 600, "receivers": ["log"]},
                                             {"name": "y", "after_s": 300, "receivers": ["log"]}]}]}, "must rise"),
    ({"receivers": [{"name": "t", "channel": {"type": "pigeon"}}]}, "does not match any of the expected tags"),
    ({"routes": [{"match": {"areas": ["atlantis"]}, "receivers": ["log"]}]}, "unknown areas"),
])
def test_mistakes_are_reported_with_their_path(tmp_path: Path, block: dict, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        make_settings(tmp_path, alerts=block)
    assert message in str(exc.value) and "alerts" in str(exc.value)
