"""Keyset pagination of list endpoints: an opaque cursor, the next page's URL in the body and in a Link header.

A cursor holds the sort key of the last item of a page, so a page is stable while new items arrive (no skipped or
repeated item, unlike offsets) and each page costs one index seek.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import Query, Request, Response

from tichwatch.api.problems import ApiProblem
from tichwatch.api.query_time import EARLIEST_QUERY_TS, LATEST_QUERY_TS

T = TypeVar("T")

CURSOR_QUERY = Query(None, max_length=512, description="Opaque cursor from the previous page's `next` link.")
"""The `cursor` query parameter of every paginated endpoint."""


def encode_cursor(key: Sequence[Any]) -> str:
    """An opaque cursor for a sort key (JSON scalars)."""
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, types: Sequence[type]) -> tuple[Any, ...] | None:
    """The sort key of a cursor, checked against the expected types; None without a cursor; 400 when it is bad."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, list) or len(key) != len(types) or not all(_is(v, t) for v, t in zip(key, types)):
        raise ApiProblem(400, "Invalid cursor", "the cursor is not one this API gave out: follow the `next` link "
                                                "of the previous page, or leave `cursor` out for the first page")
    return tuple(key)


_INT64 = 2**63


def _is(value: Any, t: type) -> bool:
    """Whether a cursor value is of the type its slot holds, and within what the store can compare it with."""
    if isinstance(value, bool):  # JSON true is neither a time nor an id
        return t is bool
    if t is float:
        return isinstance(value, (int, float)) and EARLIEST_QUERY_TS <= value < LATEST_QUERY_TS  # NaN compares False
    if t is int:
        return isinstance(value, int) and -_INT64 <= value < _INT64
    return isinstance(value, t)


def paginate(request: Request, response: Response, rows: list[T], limit: int,
             key: Any) -> tuple[list[T], str | None]:
    """Cut `rows` (fetched with `limit + 1`) to a page; when more follow, the next page's URL (also a Link header).

    `key` gives the sort key of a row, the one the next page continues after.
    """
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    url = request.url.include_query_params(cursor=encode_cursor(key(page[-1])))
    next_url = url.path + "?" + url.query
    response.headers["Link"] = f'<{next_url}>; rel="next"'
    return page, next_url
