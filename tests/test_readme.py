"""The README stays true: its config reference equals the schema, its commands exist."""
from __future__ import annotations

from pathlib import Path

from tichwatch.app.cli import REFERENCE_END, REFERENCE_START, build_parser
from tichwatch.config.reference import config_reference

README = Path(__file__).resolve().parents[1] / "README.md"


def test_config_reference_matches_schema() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split(REFERENCE_START, 1)[1].split(REFERENCE_END, 1)[0]
    assert block.strip() == config_reference().strip(), "run: tichwatch config-reference --update README.md"


def test_readme_commands_exist() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"tichwatch {name}" in text, f"README does not document `tichwatch {name}`"
