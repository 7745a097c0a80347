"""The live dashboard: one static page (HTML, CSS, plain JavaScript) served by the app, no build step."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from tichwatch.api.problems import ApiProblem

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


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The dashboard's script and style sheet (a fixed list: no path from the request reaches the file system)."""
    allowed = {"app.js": "text/javascript", "style.css": "text/css"}
    if name not in allowed:
        raise ApiProblem(404, "Not found", f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=allowed[name],
                        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"})
