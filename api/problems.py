"""Errors as application/problem+json (RFC 9457), with a message a person can act on."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "Problem details (RFC 9457): what was wrong with the request and how to put it right.",
    "properties": {
        "type": {"type": "string", "description": "Always about:blank: the status says what kind of problem it is."},
        "title": {"type": "string", "description": "Short summary of the problem."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What went wrong, in words a person can act on."},
        "instance": {"type": "string", "description": "Path of the request."},
        "code": {"type": "string", "description": "A stable name of the rule that refused the request, for programs "
                                                  "(some endpoints; e.g. own_bulletin, needs_approval)."},
        "errors": {"type": "array", "description": "Each invalid parameter (422 only).", "items": {
            "type": "object", "required": ["where", "message"],
            "properties": {"where": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
"""The OpenAPI schema of every error answer."""
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


class ApiProblem(Exception):
    """Raise from an endpoint to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None,
                 code: str | None = None):
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.code = code
        super().__init__(detail)


def install(app: FastAPI) -> None:
    """Make every error of the app a problem document, and say so in its OpenAPI document."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        extra = {"code": exc.code} if exc.code else {}
        resp = problem(exc.status, exc.title, exc.detail, instance=str(request.url.path), **extra)
        resp.headers.update(exc.headers)
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = "Bearer"
        return resp

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        resp = problem(exc.status_code, _title(exc.status_code), str(exc.detail), instance=str(request.url.path))
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"where": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['where']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors, instance=str(request.url.path))

    generate: Callable[[], dict[str, Any]] = app.openapi
    app.openapi = lambda: document_problems(generate())  # type: ignore[method-assign]


def document_problems(doc: dict[str, Any]) -> dict[str, Any]:
    """Describe the app's errors in its OpenAPI document as they are sent: FastAPI's own 422 body is replaced by a
    problem document, and every operation may answer any 4xx with one (unless it documents that status itself).

    Idempotent, so it may run on FastAPI's cached document each time it is asked for.
    """
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if fastapi_422.get("$ref") == _FASTAPI_422:
                responses["422"] = _problem_response("Invalid request: `errors` lists each invalid parameter.")
            responses.setdefault("4XX", _problem_response("The request cannot be answered: `detail` says why."))
    return doc


def _problem_response(description: str) -> dict[str, Any]:
    """An OpenAPI response whose body is a problem document."""
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _title(status: int) -> str:
    """A short title for an HTTP status."""
    return {400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
            405: "Method not allowed", 409: "Conflict", 429: "Too many requests"}.get(status, "Error")
