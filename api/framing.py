"""Who may show the service's pages in a frame: nobody, unless a response says otherwise itself.

Every answer that names no framing policy of its own (neither an `X-Frame-Options` header nor a Content-Security-
Policy with `frame-ancestors`) gets `X-Frame-Options: DENY`, and `Content-Security-Policy: frame-ancestors 'none'`
when it has no policy at all: a page added later (an acknowledge link's confirmation page, an error page) cannot be
clickjacked by default. The portal widget (api/routes_widget.py) is the one page that names the sites that may frame it.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DENY_FRAMING: tuple[tuple[bytes, bytes], ...] = ((b"x-frame-options", b"DENY"),)
"""The header added to an answer that has a Content-Security-Policy without `frame-ancestors`."""
NO_ANCESTORS = (b"content-security-policy", b"frame-ancestors 'none'")
"""The policy added to an answer that has none."""


def with_framing_denied(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The raw headers of an answer, with framing denied unless they already say who may frame it."""
    policy: bytes | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"x-frame-options":
            return headers
        if lower == b"content-security-policy":
            policy = value
    if policy is None:
        return [*headers, *DENY_FRAMING, NO_ANCESTORS]
    if b"frame-ancestors" in policy.lower():
        return headers
    return [*headers, *DENY_FRAMING]


class DenyFraming:
    """ASGI middleware applying `with_framing_denied` to every HTTP answer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_framing_denied(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, guarded)
