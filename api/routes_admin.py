"""Administration endpoints: a station's alarm levels edited at run time, officer accounts and API keys (disable,
enable, revoke), and the officer audit log."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from tichwatch.api import audit
from tichwatch.api.accounts import ApiKeyInfo, Change, UserInfo
from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_stations import one_station_json
from tichwatch.api.state import service_of
from tichwatch.config.schema import AlarmLevels
from tichwatch.core.timefmt import iso_local, iso_utc

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.stations import StationEdit

router = APIRouter(prefix="/api/v1", tags=["administration"])



class AlarmLevelsBody(AlarmLevels):
    """New official alarm levels of a station, and why they change."""

    reason: str = Field(min_length=3, max_length=2000, description="Why (decision number, re-survey…); kept in the "
                        "audit log.", examples=["Quyết định 123/QĐ-UBND ngày 01/11/2026 điều chỉnh mức báo động"])


class RevertBody(BaseModel):
    """Why the configuration file's levels are restored."""

    reason: str = Field(min_length=3, max_length=2000, examples=["Nhập nhầm, trả về mức trong cấu hình"])


def _edit(request: Request, station_id: str, alarm: AlarmLevels | None, actor: str, reason: str) -> dict[str, Any]:
    service = service_of(request)
    try:
        edit: StationEdit = service.stations.set_alarm_levels(station_id, alarm, actor, reason)
    except KeyError:
        raise ApiProblem(404, "Unknown station", f"no station with id {station_id!r}; see /api/v1/stations") from None
    except ValueError as exc:
        raise ApiProblem(422, "Invalid alarm levels", str(exc)) from None
    station = one_station_json(service, edit.after, edit.override)
    return {"station": station, "before": edit.before.alarm.named(), "after": edit.after.alarm.named(),
            "applies_from": "the station's next reading"}


@router.put("/stations/{station_id}/alarm-levels", summary="Set a station's alarm levels (admin, audited)")
def set_alarm_levels(request: Request, station_id: str, body: AlarmLevelsBody,
                     principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Store new BD1–BD3 (and record) levels; they win over the configuration file until reverted."""
    alarm = AlarmLevels.model_validate(body.model_dump(exclude={"reason"}))
    return _edit(request, station_id, alarm, principal.username, body.reason)


@router.delete("/stations/{station_id}/alarm-levels", summary="Back to the configuration file's levels (admin, "
               "audited)")
def revert_alarm_levels(request: Request, station_id: str, body: RevertBody,
                        principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Drop the run-time levels of a station."""
    return _edit(request, station_id, None, principal.username, body.reason)


@router.get("/audit", summary="Officer audit log: alarm levels, accounts, API keys (officer)")
def audit_log(request: Request, response: Response,
              actor: str | None = Query(None, max_length=200, description="Who (username, key:<name>, cli)."),
              action: str | None = Query(None, max_length=100, examples=["station.alarm_levels"]),
              target: str | None = Query(None, max_length=200, description="Station id, username or key name."),
              limit: int = Query(100, ge=1, le=1000), cursor: str | None = CURSOR_QUERY,
              principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Who did what, when, newest first; alert and bulletin actions are in their own logs."""
    service = service_of(request)
    after = decode_cursor(cursor, (int,))
    found = audit.entries(service.store.query_all, limit + 1, after[0] if after else None, actor, action, target)
    rows, next_url = paginate(request, response, found, limit, lambda e: (e.id,))
    tz = service.settings.timezone
    response.headers["Cache-Control"] = "no-store"
    return {"entries": [{"id": e.id, "ts": iso_utc(e.ts), "ts_local": iso_local(e.ts, tz), "actor": e.actor,
                         "action": e.action, "target": e.target, "detail": e.detail} for e in rows],
            "next": next_url}


class ChangeReasonBody(BaseModel):
    """Why an account or API key changes; kept in the audit log."""

    reason: str = Field(min_length=3, max_length=2000, examples=["Cán bộ chuyển công tác, thu hồi quyền truy cập"])


def _user_json(user: UserInfo, tz: str) -> dict[str, Any]:
    return {"username": user.username, "role": user.role.value, "created_at": iso_utc(user.created_ts),
            "created_at_local": iso_local(user.created_ts, tz), "disabled": user.disabled, "sessions": user.sessions}


def _key_json(key: ApiKeyInfo, tz: str) -> dict[str, Any]:
    return {"name": key.name, "role": key.role.value, "created_at": iso_utc(key.created_ts),
            "created_at_local": iso_local(key.created_ts, tz), "revoked": key.revoked}


def _change_json(change: Change) -> dict[str, Any]:
    return {"before": change.before, "after": change.after, "changed": change.changed,
            "sessions_revoked": change.sessions_revoked}


@router.get("/admin/accounts", summary="Officer accounts: role, disabled or not, open sessions (admin)")
def list_accounts(request: Request, response: Response,
                  principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Every account by name (never a password or its hash)."""
    service = service_of(request)
    response.headers["Cache-Control"] = "no-store"
    return {"accounts": [_user_json(u, service.settings.timezone) for u in service.accounts.users()]}


def _set_disabled(request: Request, username: str, disabled: bool, actor: str, reason: str) -> dict[str, Any]:
    service = service_of(request)
    try:
        change = service.accounts.set_disabled(username, disabled, actor, service.clock(), reason)
    except KeyError:
        detail = f"no account named {username!r}; see /api/v1/admin/accounts"
        raise ApiProblem(404, "Unknown account", detail) from None
    except ValueError as exc:
        raise ApiProblem(409, "Conflict", str(exc)) from None
    user = service.accounts.users(username)[0]
    return {"account": _user_json(user, service.settings.timezone), **_change_json(change)}


@router.post("/admin/accounts/{username}/disable", summary="Disable an account: its sessions end and it cannot sign "
             "in (admin, audited)")
def disable_account(request: Request, username: str, body: ChangeReasonBody,
                    principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Refuse the account's sign-in and every token it holds, from the next request on."""
    return _set_disabled(request, username, True, principal.username, body.reason)


@router.post("/admin/accounts/{username}/enable", summary="Enable a disabled account again (admin, audited)")
def enable_account(request: Request, username: str, body: ChangeReasonBody,
                   principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Let the account sign in again (its old tokens stay ended; after a compromise, reset its password too)."""
    return _set_disabled(request, username, False, principal.username, body.reason)


@router.get("/admin/api-keys", summary="API keys of machines: name, role, created, revoked (admin)")
def list_api_keys(request: Request, response: Response,
                  principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Every API key by name (never the key or its hash)."""
    service = service_of(request)
    response.headers["Cache-Control"] = "no-store"
    return {"api_keys": [_key_json(k, service.settings.timezone) for k in service.accounts.api_keys()]}


@router.post("/admin/api-keys/{name}/revoke", summary="Revoke an API key: refused from the next request on (admin, "
             "audited)")
def revoke_api_key(request: Request, name: str, body: ChangeReasonBody,
                   principal: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, Any]:
    """Revoke a machine's key for good (a new key needs a new name)."""
    service = service_of(request)
    try:
        change = service.accounts.revoke_api_key(name, principal.username, service.clock(), body.reason)
    except KeyError:
        raise ApiProblem(404, "Unknown API key", f"no API key named {name!r}; see /api/v1/admin/api-keys") from None
    key = service.accounts.api_keys(name)[0]
    return {"api_key": _key_json(key, service.settings.timezone), **_change_json(change)}
