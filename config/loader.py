"""Load a deployment file: YAML → validated `Settings`, with environment overrides and errors that name the YAML
path."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tichwatch.config.schema import Settings

DEFAULT_CONFIG = Path(__file__).with_name("kieuphu.yaml")
"""The embedded default deployment (Kiều Phú commune, local broker, simulated gateways)."""

ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "TICHWATCH_MQTT_HOST": ("mqtt", "host"),
    "TICHWATCH_MQTT_PORT": ("mqtt", "port"),
    "TICHWATCH_MQTT_USERNAME": ("mqtt", "username"),
    "TICHWATCH_DATA_DIR": ("store", "data_dir"),
    "TICHWATCH_HTTP_HOST": ("http", "host"),
    "TICHWATCH_HTTP_PORT": ("http", "port"),
    "TICHWATCH_PUBLIC_URL": ("http", "public_url"),
}
"""Environment variables that override a value of the file: the broker address, the data directory, the listener."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a deployment file, located by its path in the YAML."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.message}"


class ConfigError(Exception):
    """A deployment file that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def _yaml_path(loc: tuple[Any, ...]) -> str:
    """Render a pydantic error location as a YAML path: stations[1].alarm.bd2_m."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Return a copy of the raw mapping with environment overrides applied."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for var, (block, key) in ENV_OVERRIDES.items():
        if env.get(var):
            section = data.setdefault(block, {})
            if isinstance(section, dict):
                section[key] = env[var]
    return data


def parse_settings(raw: Any, source: str, env: Mapping[str, str] | None = None) -> Settings:
    """Validate an already-parsed YAML document; raise ConfigError naming `source` and each field's path."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([ConfigIssue(source, "", "the file must hold a mapping (key: value) at the top")])
    data = _apply_env(raw, os.environ if env is None else env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        issues = [ConfigIssue(source, _yaml_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise ConfigError(issues) from None


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a deployment file (the embedded default when `path` is None)."""
    path = path or DEFAULT_CONFIG
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), "", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([ConfigIssue(str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return parse_settings(raw, str(path), env)


def secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of the secret held in environment variable `name`, or None when unset or empty."""
    value = (os.environ if env is None else env).get(name)
    return value or None
