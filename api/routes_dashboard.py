"""The live dashboard: static pages (HTML, CSS, plain JavaScript) served by the app, no build step, and the text
catalogue they render from."""
from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from tichwatch.api.problems import ApiProblem
from tichwatch.core.i18n import LANGUAGES, texts

STATIC_DIR = Path(__file__).with_name("static")
DASHBOARD_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                 "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
"""Content Security Policy of the dashboard: only its own scripts, styles and API."""
SECURITY_HEADERS = {
    "Content-Security-Policy": DASHBOARD_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard() -> FileResponse:
    """The dashboard page."""
    return FileResponse(STATIC_DIR / "index.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: str) -> FileResponse:
    """The page an alert's notification links to (the dashboard renders the alert named in the path)."""
    return dashboard()


DESK_CSP = DASHBOARD_CSP.replace("img-src 'self' data:", "img-src 'self' data: blob:") + "; media-src 'self' blob:"
"""The bulletin desk's policy: the dashboard's, and the previews it fetches with the reader's credentials and shows
as blob: URLs (a card, a chart, the audio of a draft)."""


@router.get("/bulletins/desk")
def bulletin_desk() -> FileResponse:
    """The bulletin desk for communicators, officers and administrators (the page asks to sign in; the API checks
    each role)."""
    return FileResponse(STATIC_DIR / "bulletins.html",
                        headers={**SECURITY_HEADERS, "Content-Security-Policy": DESK_CSP, "Cache-Control": "no-cache"})


STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
"""What the static folder may serve, by suffix."""
STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\.[a-z]{2,3}")


@cache
def static_files() -> dict[str, str]:
    """The static folder's servable files (listed once: no path from a request reaches the file system)."""
    return {p.name: STATIC_TYPES[p.suffix] for p in STATIC_DIR.iterdir()
            if p.is_file() and p.suffix in STATIC_TYPES and STATIC_NAME.fullmatch(p.name)}


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The pages' scripts and style sheet."""
    media = static_files().get(name)
    if media is None:
        raise ApiProblem(404, "Not found", f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=media,
                        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"})


@cache
def _catalogue_body(lang: str) -> tuple[bytes, str]:
    body = json.dumps(dict(texts(lang)), ensure_ascii=False, sort_keys=True).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@router.get("/i18n/{lang}.json")
def catalogue(lang: str, request: Request) -> Response:
    """The text catalogue of one language (vi, en) for the pages, with an ETag."""
    if lang not in LANGUAGES:
        raise ApiProblem(404, "Not found", f"no language {lang!r}; there are {', '.join(LANGUAGES)}")
    body, etag = _catalogue_body(lang)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json; charset=utf-8", headers=headers)
