"""The API's documentation pages, Swagger UI (/docs) and ReDoc (/redoc), with their scripts and styles served from the
app's own files: the pages work without internet, and their Content Security Policy allows no other origin.

The Swagger UI and ReDoc bundles come from the `fastapi-offline` package (MIT; Swagger UI is Apache 2.0, ReDoc MIT),
installed with the app; only its static files are used. FastAPI's own pages are switched off in `create_app`: they
load the same bundles from a CDN and start Swagger UI from an inline script.
"""
from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_dashboard import SECURITY_HEADERS

VENDOR_DIR = Path(str(files("fastapi_offline") / "static"))
OWN_DIR = Path(__file__).with_name("static") / "docs"
ASSETS_URL = "/static/docs"
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (VENDOR_DIR / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (VENDOR_DIR / "swagger-ui.css", "text/css"),
    "redoc.standalone.js": (VENDOR_DIR / "redoc.standalone.js", "text/javascript"),
    "favicon.png": (VENDOR_DIR / "favicon.png", "image/png"),
    "swagger-init.js": (OWN_DIR / "swagger-init.js", "text/javascript"),
}
"""Every file the documentation pages load, by the name in its URL (no path from a request reaches the file system)."""

DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'")
"""Content Security Policy of the documentation pages: only the app's own scripts; inline styles, which Swagger UI
and ReDoc set on their elements; ReDoc's search runs in a worker made from a blob."""
DOCS_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP}
"""The dashboard's security headers with the documentation pages' own policy."""

router = APIRouter(include_in_schema=False)


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f'<link rel="icon" href="{ASSETS_URL}/favicon.png">{head}</head>\n<body>{body}</body></html>\n',
        headers={**DOCS_HEADERS, "Cache-Control": "no-cache"})


def _openapi_url(request: Request) -> str:
    return html.escape(f"{request.scope.get('root_path', '')}{request.app.openapi_url}")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: the API's operations, tried out in the browser."""
    return _page(f"{request.app.title} API — Swagger UI",
                 f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">',
                 f'<div id="swagger-ui" data-openapi-url="{_openapi_url(request)}"></div>'
                 f'<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>'
                 f'<script src="{ASSETS_URL}/swagger-init.js"></script>')


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the API reference on one page (the standalone bundle starts itself on the <redoc> element)."""
    return _page(f"{request.app.title} API — ReDoc", "",
                 f'<redoc spec-url="{_openapi_url(request)}"></redoc>'
                 f'<script src="{ASSETS_URL}/redoc.standalone.js"></script>')


@router.get(ASSETS_URL + "/{name}")
def asset(name: str) -> FileResponse:
    """A script, style sheet or icon of the documentation pages."""
    found = ASSETS.get(name)
    if found is None:
        raise ApiProblem(404, "Not found", f"no documentation file {name!r}")
    path, media = found
    return FileResponse(path, media_type=media, headers={**DOCS_HEADERS, "Cache-Control": "public, max-age=3600"})
