"""Every CAP message the tests issue is checked as it is made: against the OASIS CAP 1.2 XML schema
(schema/CAP-v1.2.xsd, validated with xmlschema; source and licence in schema/README.md) and against the CAP rules of
`tichwatch.residents.feeds.cap_rules` (what the schema cannot say: dateTime offsets, identifiers, references …).

Loaded as a pytest plugin by tests/conftest.py: its autouse fixture wraps the renderer (`cap.cap_xml`, which only
the issuer calls) for every test of the suite, so no test can issue a message that is not checked. The issuer logs a
render failure instead of failing the alert change, so the fixture fails the test at teardown rather than raising
inside the renderer."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tichwatch.residents.feeds import cap
from tichwatch.residents.feeds.cap_rules import cap_problems

SCHEMA_PATH = Path(__file__).with_name("schema") / "CAP-v1.2.xsd"
"""The OASIS CAP 1.2 schema as committed."""


@cache
def cap_schema() -> xmlschema.XMLSchema:
    """The CAP 1.2 schema, parsed once per test run."""
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def schema_problems(xml: bytes) -> list[str]:
    """Why a document is not valid against the CAP 1.2 XML schema (empty: it is)."""
    return [f"{e.path}: {e.reason}" for e in cap_schema().iter_errors(xml.decode("utf-8"))]


def all_problems(xml: bytes) -> list[str]:
    """Schema problems and CAP-rule problems of one message."""
    return schema_problems(xml) + cap_problems(xml)


class Checked:
    """What the wrapped renderer produced during one test."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.problems: list[str] = []

    def wrap(self, render: Callable[..., bytes]) -> Callable[..., bytes]:
        """The renderer, checking what it returns."""
        def checked(*args: Any, **kwargs: Any) -> bytes:
            xml = render(*args, **kwargs)
            self.messages.append(xml)
            self.problems.extend(f"{args[0] if args else '?'}: {p}" for p in all_problems(xml))
            return xml
        return checked


@pytest.fixture(autouse=True)
def cap_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[Checked]:
    """Every CAP message issued during the test is schema- and rule-checked; the test fails if one is invalid."""
    checked = Checked()
    monkeypatch.setattr(cap, "cap_xml", checked.wrap(cap.cap_xml))
    yield checked
    assert not checked.problems, f"invalid CAP messages were issued: {checked.problems[:5]}"
