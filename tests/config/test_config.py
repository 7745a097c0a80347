"""Settings: the default file is valid; errors name the file and the YAML path; env overrides apply."""
from __future__ import annotations

from pathlib import Path

import pytest

from tichwatch.app.cli import main
from tichwatch.config.loader import DEFAULT_CONFIG, ConfigError, load_settings


def test_default_deployment_is_valid() -> None:
    s = load_settings(env={})
    assert s.commune == "Kiều Phú" and s.timezone == "Asia/Ho_Chi_Minh"
    vp = s.station("tich-vinhphuc")
    assert vp is not None and vp.alarm.bd3_m == 8.0
    assert s.mqtt.topic_prefix == "tich/v1"


def test_errors_name_file_and_path(tmp_path: Path) -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    text = text.replace("bd2_m: 7.30", "bd2_m: high")
    text = text.replace("expected_interval_s: 60\n", "expected_intervl_s: 60\n", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(bad, env={})
    paths = {i.path for i in exc.value.issues}
    assert "stations[1].alarm.bd2_m" in paths
    assert "cameras[0].expected_intervl_s" in paths
    assert all(i.file == str(bad) for i in exc.value.issues)


def test_cross_field_rules(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8").replace("bd1_m: 6.50", "bd1_m: 7.50"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"stations\[1\]\.alarm: .*bd1_m < bd2_m < bd3_m"):
        load_settings(bad, env={})


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    bad = tmp_path / "y.yaml"
    bad.write_text("mqtt:\n  host: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"y.yaml: line \d+, column \d+: not valid YAML"):
        load_settings(bad, env={})


def test_environment_overrides_broker_and_data_dir() -> None:
    s = load_settings(env={"TICHWATCH_MQTT_HOST": "broker.lan", "TICHWATCH_MQTT_PORT": "8883",
                           "TICHWATCH_DATA_DIR": "/srv/tw"})
    assert (s.mqtt.host, s.mqtt.port, str(s.store.data_dir)) == ("broker.lan", 8883, "/srv/tw")


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(DEFAULT_CONFIG)]) == 0
    assert "ok (3 stations, 2 cameras)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("mqtt:\n  port: 99999\nstations: 3\n", encoding="utf-8")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: mqtt.port:" in out and f"{bad}: stations:" in out and "2 error(s)" in out


def test_an_older_file_with_the_bulletin_retry_keys_still_loads_and_is_warned_about() -> None:
    from tichwatch.config.bulletins import BulletinSettings

    old = BulletinSettings.model_validate({"retry_attempts": 6, "retry_first_delay_s": 60})
    assert old.deprecated_set == ["retry_attempts", "retry_first_delay_s"]
    assert BulletinSettings().deprecated_set == []
