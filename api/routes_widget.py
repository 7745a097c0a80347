"""The portal widget: a small page meant to be framed by the commune portal (live levels, status, the latest bulletin)
and its one-line loader script, served from static files, no build step.

`GET /widget` is the page (`?lang=vi|en`, `?theme=light|dark`, `?stations=a,b`); its script (static/widget.js)
reads only the public snapshot endpoints, by polling with If-None-Match every `widget.refresh_s`. `GET /widget.js`
is the loader a portal includes: it puts an iframe of the page after itself (or into `data-target`) and sizes it
from the height the page posts to it. Framing follows the HTML standard's and CSP 3's rules: the page's
Content-Security-Policy `frame-ancestors` lists the configured origins (`X-Frame-Options` cannot name several sites,
so the page sends it only when no site may frame it); every other page of the service refuses framing
(api/framing.py). The page sets no cookie, stores nothing in the browser and loads nothing from another origin.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_dashboard import STATIC_DIR
from tichwatch.api.state import service_of
from tichwatch.config.schema import Settings
from tichwatch.config.widget import WidgetSettings
from tichwatch.core.i18n import LANGUAGES, texts

router = APIRouter(include_in_schema=False)

THEMES = ("light", "dark")
"""The widget's colour themes (`?theme=`), the first the default."""
WIDGET_TEXT_PREFIXES = ("widget.", "BD1", "BD2", "BD3", "sensor.")
"""The catalogue keys the widget page uses (beginning so), besides WIDGET_TEXT_KEYS."""
WIDGET_TEXT_KEYS = frozenset({"normal", "rising", "falling", "steady"})
"""Single catalogue keys the widget page uses."""
PAGE_CACHE = "public, max-age=300"
"""How long a browser or proxy may keep the page (its data comes from the API, not from the page)."""
LOADER_CACHE = "public, max-age=3600"
"""How long a browser or proxy may keep the loader script."""
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A portal sending Cross-Origin-Embedder-Policy: require-corp may still frame the page and load the loader.
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def frame_ancestors(origins: list[str]) -> str:
    """The CSP `frame-ancestors` source list of the configured origins (`'none'` when there are none)."""
    return " ".join(origins) if origins else "'none'"


def widget_csp(origins: list[str]) -> str:
    """The page's Content Security Policy: its own script, style and API only; framed by the configured sites."""
    return ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors(origins)}")


def page_headers(widget: WidgetSettings) -> dict[str, str]:
    """The page's security headers."""
    headers = {**_COMMON_HEADERS, "Content-Security-Policy": widget_csp(widget.frame_ancestors),
               "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}
    if not widget.frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers


def widget_texts(lang: str) -> dict[str, str]:
    """The catalogue texts the widget page uses, in one language."""
    return {k: v for k, v in texts(lang).items() if k in WIDGET_TEXT_KEYS or k.startswith(WIDGET_TEXT_PREFIXES)}


@dataclass(frozen=True)
class PageOptions:
    """What a widget page is rendered with: the query's language and theme, and the deployment's settings."""

    lang: Literal["vi", "en"]
    theme: str
    commune: str
    refresh_s: int
    public_kinds: tuple[str, ...]
    home_url: str


def page_options(query: Mapping[str, str], settings: Settings) -> PageOptions:
    """The options of a request: an unknown `lang` or `theme` falls back to the default (the deployment's language,
    the light theme: a typo in a portal's embedding code shows the widget rather than an error)."""
    asked = query.get("lang")
    lang: Literal["vi", "en"] = "en" if asked == "en" else "vi" if asked == "vi" else settings.language
    theme = query.get("theme") if query.get("theme") in THEMES else THEMES[0]
    return PageOptions(lang, str(theme), settings.commune, settings.widget.refresh_s,
                       tuple(settings.bulletins.public_kinds), settings.http.public_url.rstrip("/") + "/")


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(STATIC_DIR), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=16)
def render_page(options: PageOptions) -> tuple[bytes, str]:
    """The page's HTML for these options, and its ETag (rendered once per options)."""
    t = widget_texts(options.lang)
    config = {"lang": options.lang, "refresh_s": options.refresh_s, "public_kinds": list(options.public_kinds),
              "texts": t}
    body = _templates().get_template("widget.html").render(
        o=options, t=t, config=config).encode()
    return body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _enabled(request: Request) -> WidgetSettings:
    widget = service_of(request).settings.widget
    if not widget.enabled:
        raise ApiProblem(404, "Not found", "the widget is switched off in this deployment (widget.enabled)")
    return widget


@router.get("/widget")
def widget_page(request: Request) -> Response:
    """The widget page, to be framed by the configured sites."""
    widget = _enabled(request)
    body, etag = render_page(page_options(request.query_params, service_of(request).settings))
    headers = {**page_headers(widget), "Cache-Control": PAGE_CACHE, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


@cache
def loader_script() -> bytes:
    """static/embed.js with the iframe's title in each language from the catalogue."""
    titles = {lang: texts(lang)["widget.frame_title"] for lang in LANGUAGES}
    source = (STATIC_DIR / "embed.js").read_text(encoding="utf-8")
    return source.replace("__TITLES__", json.dumps(titles, ensure_ascii=False)).encode()


@router.get("/widget.js")
def widget_loader(request: Request) -> Response:
    """The loader script a portal includes with one line (static/embed.js)."""
    _enabled(request)
    return Response(loader_script(), media_type="text/javascript; charset=utf-8",
                    headers={**_COMMON_HEADERS, "Cache-Control": LOADER_CACHE})
