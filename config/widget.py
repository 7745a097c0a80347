"""The embeddable widget for the commune portal (the `widget:` block)."""
from __future__ import annotations

import re

from pydantic import Field, field_validator

from tichwatch.config.base import StrictModel

ANY_SITE = "*"
"""The `frame_ancestors` entry that lets any web site frame the widget."""
MAX_FRAME_ANCESTORS = 20
"""Most sites listed in `frame_ancestors` (a Content-Security-Policy header stays short)."""
_ORIGIN = re.compile(r"https?://(\*\.)?[a-z0-9]([a-z0-9-]{0,62}\.)*[a-z0-9-]{1,63}(:[0-9]{1,5})?")


def frame_ancestor(value: str) -> str:
    """One `frame_ancestors` entry checked and written as CSP wants it: `*`, or an origin scheme://host[:port] (a
    leading `*.` on the host for every subdomain; lower case, no path, no trailing slash); ValueError otherwise (a
    space, quote or semicolon would change the page's whole policy)."""
    origin = value.strip().lower().removesuffix("/")
    if origin != ANY_SITE and not _ORIGIN.fullmatch(origin):
        raise ValueError(f"{value!r} is not `*` nor an origin like https://portal.example.gov.vn (no path)")
    return origin


class WidgetSettings(StrictModel):
    """Live levels, status and the latest bulletin in an iframe on another site."""

    enabled: bool = Field(True, description="Serve the widget page and its loader script.")
    frame_ancestors: list[str] = Field(
        default_factory=list, max_length=MAX_FRAME_ANCESTORS,
        description="Origins of the sites that may show the widget in a frame (the page's CSP `frame-ancestors`), "
                    "e.g. the commune portal `https://kieuphu.hanoi.gov.vn`; `https://*.hanoi.gov.vn` for every "
                    "subdomain; `*` for any site. None by default: the widget page then refuses to be framed (it "
                    "still opens on its own) until the commune names its portal. Every other page of the service "
                    "refuses framing whatever this says.")
    refresh_s: int = Field(60, ge=10, le=600, description="How often an open widget asks for new data, seconds "
                           "(conditional requests, answered 304 with no body while nothing changed); each widget "
                           "adds up to 20 % at random so that a crowd's requests spread out.")

    @field_validator("frame_ancestors")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        origins = list(dict.fromkeys(frame_ancestor(v) for v in values))
        if ANY_SITE in origins and len(origins) > 1:
            raise ValueError("`*` already allows every site: list it alone")
        return origins
