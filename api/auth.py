"""Authentication at the HTTP edge: bearer tokens from sign-in, API keys for machines, role checks.

Use `principal: Principal = Depends(require_role(Role.OFFICER))` on any endpoint that changes something: it answers
401 (no or bad credentials) or 403 (role too low) itself.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from tichwatch.api.accounts import Accounts, Principal, Role
from tichwatch.api.login_throttle import LoginThrottled
from tichwatch.api.passwords import HashingBusy
from tichwatch.api.problems import PROBLEM_JSON, ApiProblem
from tichwatch.api.ratelimit import client_address
from tichwatch.api.state import service_of
from tichwatch.core.timefmt import iso_utc

__all__ = ["Principal", "Role", "require_role", "router"]

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/login")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key for machines")


def _accounts(request: Request) -> Accounts:
    accounts: Accounts = service_of(request).accounts
    return accounts


def _clock(request: Request) -> float:
    now: float = service_of(request).clock()
    return now


class Unauthenticated(ApiProblem):
    """401 with the WWW-Authenticate challenge."""

    def __init__(self, detail: str):
        super().__init__(401, "Authentication required", detail)


def current_principal(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
                      api_key: str | None = Depends(_api_key)) -> Principal:
    """The principal behind the request's bearer token or API key; 401 when there is none or it is invalid."""
    accounts = _accounts(request)
    if bearer is not None:
        principal = accounts.from_token(bearer.credentials, _clock(request))
        if principal is None:
            raise Unauthenticated("the token is invalid or expired: sign in again")
        return principal
    if api_key:
        principal = accounts.from_api_key(api_key)
        if principal is None:
            raise Unauthenticated("the API key is invalid or revoked")
        return principal
    raise Unauthenticated("sign in (POST /api/v1/auth/login) and send 'Authorization: Bearer <token>'")


def has_valid_credentials(request: Request) -> bool:
    """True when the request carries a valid bearer token or API key (used by the rate limiter)."""
    accounts = _accounts(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.from_token(header[7:].strip(), _clock(request)) is not None
    key = request.headers.get("x-api-key")
    if not key:
        return False
    return accounts.from_api_key(key) is not None


def require_role(role: Role) -> Callable[..., Principal]:
    """A dependency that admits principals whose role includes `role` (403 otherwise)."""

    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.role.allows(role):
            raise ApiProblem(403, "Forbidden", f"this needs the {role.value} role; {principal.username} is "
                                               f"{principal.role.value}")
        return principal

    return check


router = APIRouter(prefix="/api/v1/auth", tags=["officers"])


class LoginRequest(BaseModel):
    """Credentials for sign-in."""

    username: str = Field(min_length=1, max_length=64, examples=["truc.ban"])
    password: str = Field(min_length=1, max_length=256, examples=["correct horse battery staple"])


_BUSY = {"description": "Too many sign-ins are being checked at once: try again after Retry-After seconds.",
         "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


# A plain `def`: FastAPI runs it in its thread pool, so the argon2 work never blocks the event loop; the hashing gate
# (tichwatch.api.passwords) bounds how many of those threads hash or wait at once.
@router.post("/login", summary="Sign in: username and password for an expiring bearer token",
             responses={503: _BUSY})
def login(request: Request, body: LoginRequest) -> dict[str, Any]:
    """Exchange credentials for a token; repeated failures are throttled (429), a crowd of sign-ins is refused (503)."""
    client = client_address(request, frozenset(service_of(request).settings.http.trusted_proxies))
    try:
        session = _accounts(request).login(body.username, body.password, client, _clock(request))
    except LoginThrottled as exc:
        raise ApiProblem(429, "Too many requests", str(exc), {"Retry-After": str(exc.retry_after_s)}) from None
    except HashingBusy as exc:
        raise ApiProblem(503, "Busy", str(exc), {"Retry-After": str(exc.retry_after_s)}) from None
    if session is None:
        raise Unauthenticated("wrong username or password")
    return {"access_token": session.token, "token_type": "bearer", "username": session.username,
            "role": session.role.value, "expires_at": iso_utc(session.expires_ts)}


@router.post("/logout", summary="End the current session", status_code=204)
def logout(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Invalidate the bearer token."""
    if bearer is not None:
        _accounts(request).logout(bearer.credentials)


@router.get("/me", summary="Who am I")
def me(principal: Principal = Depends(current_principal)) -> dict[str, str]:
    """The signed-in principal."""
    return {"username": principal.username, "role": principal.role.value, "via": principal.via}
