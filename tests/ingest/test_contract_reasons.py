"""One list of rejection reasons: every reason the code can produce is in REASONS, and the README documents each."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from tichwatch.ingest.outcomes import REASONS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ingest", "detectors", "alerts", "api", "config", "core", "store", "app", "public", "historian")
MAKERS = frozenset({"Rejection", "Invalid", "JpegError"})
"""Constructors whose first argument is a rejection reason."""


def reasons_in_code() -> dict[str, str]:
    """Every string literal passed as the reason to a rejection constructor in the service's code → where."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                first = node.args[0]
                if name in MAKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, f"{path.relative_to(ROOT)}:{node.lineno}")
                elif name in MAKERS and isinstance(first, ast.IfExp):  # Invalid("a" if x else "b", ...)
                    for branch in (first.body, first.orelse):
                        if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                            found.setdefault(branch.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def readme_reasons() -> set[str]:
    """The reason codes in the first column of the README's table under "### Rejections"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Rejections", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("|") and line.count("|") >= 3]
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row)}


def test_every_reason_the_code_produces_is_listed() -> None:
    found = reasons_in_code()
    assert {"bad_topic", "replayed", "not_jpeg", "corrupt_jpeg", "bad_number", "unsupported_senml"} <= set(found)
    unlisted = {reason: where for reason, where in found.items() if reason not in REASONS}
    assert unlisted == {}, "add these reasons to tichwatch.ingest.outcomes.REASONS (and the README's table)"


def test_every_listed_reason_has_a_one_line_meaning() -> None:
    assert all(re.fullmatch(r"[a-z_]+", code) and meaning and "\n" not in meaning for code, meaning in REASONS.items())


def test_the_readme_table_documents_exactly_the_listed_reasons() -> None:
    documented = readme_reasons()
    assert {"missing_field", "not_jpeg"} <= documented, "the README's Rejections table was not found"
    assert sorted(set(REASONS) - documented) == [] and sorted(documented - set(REASONS)) == []
