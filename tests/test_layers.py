"""The dependency rule: a lower layer never imports a higher one (annotations-only imports under TYPE_CHECKING aside).

core, config ← store ← ingest, detectors ← alerts, residents, historian ← api ← app, tools (tests import anything).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER = {"core": 0, "config": 0, "store": 1, "ingest": 2, "detectors": 2, "alerts": 3, "residents": 3,
         "historian": 3, "learning": 3, "api": 4, "app": 5, "tools": 5}
"""Each package's layer: it may import its own layer and those below."""


def runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every import outside `if TYPE_CHECKING:` blocks (those are for annotations only)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def violations(package: str) -> list[str]:
    """'file:line imports module' for each import of a higher layer by `package`."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = module.split(".")
            target = parts[1] if parts[0] == "tichwatch" and len(parts) > 1 else parts[0]
            if target in LAYER and LAYER[target] > LAYER[package]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", sorted(LAYER))
def test_no_package_imports_a_higher_layer(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "bad.py").write_text("from typing import TYPE_CHECKING\n"
                                               "if TYPE_CHECKING:\n    from tichwatch.app.service import Service\n"
                                               "from tichwatch.alerts.engine import AlertEngine\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("store") == ["store/bad.py:4 imports tichwatch.alerts.engine"]


def test_every_package_of_the_distribution_has_a_layer() -> None:
    folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "tichwatch"}
    assert folders == set(LAYER)
