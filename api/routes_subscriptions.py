"""Residents' subscriptions over HTTP.

Public: the registration page (/dang-ky, /subscribe) and its form data, self-registration with a code sent to the
phone and its confirmation (limited per client address, IPv6 per /64; the same answer for every number), the
unsubscribe link's page (/huy/<token>: GET shows a button, POST unsubscribes), and the SMS gateway's inbound messages
(a shared secret from the environment). No public answer holds personal data.

Officers (signed in): the residents screen (/residents), subscribers per hamlet with counts, numbers masked; add a
resident on their behalf, change, unsubscribe. Admins: whole numbers, exports (CSV, JSON), erasure on request. Each
change is in the officer audit log.

Bodies are read here with a bound (`subscriptions.max_body_bytes`, 413 beyond) before they are parsed: JSON, or a
form for the unsubscribe button and gateways that post forms.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import urllib.parse
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from tichwatch.alerts.actions import ActionError
from tichwatch.api import audit
from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.ratelimit import TokenBuckets, client_address
from tichwatch.api.routes_dashboard import SECURITY_HEADERS, STATIC_DIR
from tichwatch.api.state import service_of
from tichwatch.config.loader import secret
from tichwatch.core.i18n import text
from tichwatch.core.timefmt import iso_utc
from tichwatch.residents.subscriptions.desk import Subscriptions
from tichwatch.residents.subscriptions.phone import InvalidPhone, normalise
from tichwatch.residents.subscriptions.registration import RegistrationForm, target
from tichwatch.residents.subscriptions.store import CHANNELS, STATUSES
from tichwatch.residents.subscriptions.views import to_csv

router = APIRouter(tags=["resident subscriptions"])
M = TypeVar("M", bound=BaseModel)
Lang = Literal["vi", "en"]
Channel = Literal["zns", "sms"]
_TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Invalid request",
           503: "Service unavailable"}
BUSY_RETRY_S = 600
"""Retry-After of a registration refused because the deployment's codes per hour are spent."""
MAX_AUDIT_ENTRIES = 500
"""Most audit entries an export of one number carries."""


def _subs(request: Request) -> Subscriptions:
    subs: Subscriptions = service_of(request).subscriptions
    return subs


def _act(action: Callable[..., Any], *args: Any) -> Any:
    """Run an action, mapping its refusals to problem documents."""
    try:
        return action(*args)
    except ActionError as exc:
        headers = {"Retry-After": str(BUSY_RETRY_S)} if exc.status == 503 else None
        raise ApiProblem(exc.status, _TITLES.get(exc.status, "Error"), str(exc), headers) from None


# -- bounded bodies -----------------------------------------------------------------------------------------------
async def read_bounded(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is longer than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiProblem(413, "Too large", f"the body must be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiProblem(413, "Too large", f"the body must be at most {limit} bytes")
    return bytes(body)


def parse_body(raw: bytes, content_type: str, model: type[M]) -> M:
    """A JSON or form body as `model`: 400 for a body that is neither, 422 for invalid fields."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            data: Any = dict(urllib.parse.parse_qsl(raw.decode("utf-8"), max_num_fields=20))
        else:
            data = json.loads(raw or b"{}")
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise ApiProblem(400, "Bad request", "the body is neither JSON nor a form") from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "Bad request", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def body_of(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency giving the request's bounded body as `model`."""
    async def read(request: Request) -> M:
        raw = await read_bounded(request, service_of(request).settings.subscriptions.max_body_bytes)
        return parse_body(raw, request.headers.get("content-type", ""), model)
    return read


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI of a body read by `body_of` (FastAPI does not see it)."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema}, "application/x-www-form-urlencoded": {"schema": schema}}}}


# -- limits per client address ------------------------------------------------------------------------------------
_limits_lock = threading.Lock()
IPV6_LIMIT_PREFIX = 64
"""IPv6 clients are counted per /64: a home line, a phone or a rented server gets a whole /64, so counting single
addresses would let one client rotate through billions of them (and send a code to every number it likes)."""


def limit_key(address: str) -> str:
    """What a client's tries are counted under: its IPv4 address (also when written IPv4-mapped), or its IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        host_bits = 128 - IPV6_LIMIT_PREFIX
        return str(ipaddress.IPv6Network((int(ip) >> host_bits << host_bits, IPV6_LIMIT_PREFIX)))
    return str(ip)


def _limited(request: Request, name: str, per_hour: int, who: str | None = None) -> None:
    """Spend one of `who`'s (default: the client address's) `per_hour` tries at `name`; 429 with Retry-After when
    none is left."""
    state = request.app.state
    with _limits_lock:
        buckets: dict[str, TokenBuckets] = getattr(state, "subscription_buckets", None) or {}
        state.subscription_buckets = buckets
        bucket = buckets.setdefault(name, TokenBuckets(per_hour / 60.0, per_hour))
    service = service_of(request)
    if who is None:
        who = limit_key(client_address(request, frozenset(service.settings.http.trusted_proxies)))
    wait = bucket.take(who, service.clock())
    if wait > 0:
        raise ApiProblem(429, "Too many requests", "too many tries; try again later",
                         {"Retry-After": str(max(1, int(wait) + 1))})


# -- public: the registration -------------------------------------------------------------------------------------
@router.get("/api/v1/subscriptions/form", summary="What the registration form needs: hamlets, consent text, version")
def form(request: Request) -> dict[str, Any]:
    """The hamlets to choose from, the consent wording (vi, en) and its version, and whether residents may register
    themselves. No personal data, no counts."""
    subs = _subs(request)
    s = subs.settings
    return {"enabled": s.enabled, "self_registration": s.enabled and s.self_registration,
            "hamlets": [{"id": h, "name": name} for h, name in subs.hamlets.items()],
            "channels": list(CHANNELS), "consent_version": s.consent_version,
            "consent": {"vi": s.consent_vi, "en": s.consent_en},
            "code_digits": s.code_digits, "code_valid_s": s.code_valid_s}


class RegisterBody(BaseModel):
    """A resident's registration."""

    phone: str = Field(min_length=1, max_length=32, examples=["0912 345 678"])
    hamlet_id: str = Field(min_length=1, max_length=64, examples=["thon-1"])
    lang: Lang = "vi"
    channel: Channel = "zns"
    consent: bool = Field(description="The resident agrees to the consent text shown (must be true).")
    consent_version: str = Field(max_length=32, description="Version of the consent text shown (from "
                                 "/api/v1/subscriptions/form).", examples=["2026-1"])


REGISTERED = {"status": "check_your_phone",
              "detail": "If the number can receive messages, a code arrives in a few minutes: enter it to confirm. "
                        "No code? Check the number and register again later.",
              "detail_vi": "Nếu số điện thoại nhận được tin nhắn, mã xác nhận sẽ đến trong vài phút: nhập mã để "
                           "hoàn tất. Không nhận được? Kiểm tra lại số và đăng ký lại sau."}
"""The one answer to every accepted registration."""


_REGISTER_BODY = Depends(body_of(RegisterBody))
"""The bounded body as RegisterBody."""

@router.post("/api/v1/subscriptions", status_code=202, openapi_extra=documented(RegisterBody),
             summary="Register a phone for alerts and bulletins of a hamlet (a code is sent to confirm)")
def register(request: Request, body: RegisterBody = _REGISTER_BODY) -> dict[str, str]:
    """Self-registration: the same answer whether the number is new or already known; the code goes to the phone.
    Limited per client address (429) and per number (codes per day: further registrations send nothing)."""
    subs = _subs(request)
    _limited(request, "register", subs.settings.registrations_per_address_per_hour)
    form_ = RegistrationForm(body.phone, body.hamlet_id, body.lang, body.channel, body.consent, body.consent_version)
    _act(subs.registration.register, form_, service_of(request).clock())
    return REGISTERED


class ConfirmBody(BaseModel):
    """The code a resident received."""

    phone: str = Field(min_length=1, max_length=32, examples=["0912 345 678"])
    code: str = Field(min_length=1, max_length=16, examples=["048213"])


_CONFIRM_BODY = Depends(body_of(ConfirmBody))
"""The bounded body as ConfirmBody."""

@router.post("/api/v1/subscriptions/confirm", openapi_extra=documented(ConfirmBody),
             summary="Confirm a registration with the code sent to the phone")
def confirm(request: Request, body: ConfirmBody = _CONFIRM_BODY) -> dict[str, str]:
    """Active from now on; the answer carries the link to unsubscribe. A wrong, expired or used-up code (or an unknown
    number) gets one answer (400); a code is void after `code_attempts` wrong tries."""
    subs = _subs(request)
    _limited(request, "confirm", subs.settings.confirmations_per_address_per_hour)
    sid = _act(subs.registration.confirm, body.phone, body.code, service_of(request).clock())
    return {"status": "active", "unsubscribe_url": subs.link_for(sid)}


# -- public: leaving ----------------------------------------------------------------------------------------------
def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "vi"


def _page(lang: str, title_key: str, body_key: str, form_action: str | None = None, status: int = 200) -> HTMLResponse:
    """A small server-made page for residents (works without JavaScript)."""
    def t(key: str) -> str:
        return escape(text(lang, key))
    other = "vi" if lang == "en" else "en"
    button = (f'<form method="post" action="{escape(form_action)}?lang={lang}">'
              f'<button type="submit" class="primary">{t("sub.unsubscribe_button")}</button></form>'
              if form_action else f'<p><a href="/dang-ky?lang={lang}">{t("sub.register_again")}</a></p>')
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{t(title_key)}</title>'
            f'<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css">'
            f'<link rel="stylesheet" href="/static/residents.css"></head>'
            f'<body class="resident-page"><main class="panel resident-box"><h1>{t(title_key)}</h1>'
            f'<p>{t(body_key)}</p>{button}<p class="muted"><a href="?lang={other}">{t("sub.other_language")}</a></p>'
            f'</main></body></html>')
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


@router.get("/huy/{token}", include_in_schema=False)
@router.get("/unsubscribe/{token}", include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """The link in every message: a page asking to confirm (a GET changes nothing: link previews fetch it)."""
    lang = _lang(request)
    if _subs(request).key.subscriber_of(token) is None:
        return _page(lang, "sub.link_invalid_title", "sub.link_invalid", status=404)
    return _page(lang, "sub.unsubscribe_title", "sub.unsubscribe_question", form_action=request.url.path)


@router.post("/huy/{token}", include_in_schema=False)
@router.post("/unsubscribe/{token}", include_in_schema=False)
async def unsubscribe(request: Request, token: str) -> HTMLResponse:
    """Unsubscribe the link's subscriber: done (also when done before, or erased since)."""
    await read_bounded(request, service_of(request).settings.subscriptions.max_body_bytes)
    lang, subs = _lang(request), _subs(request)
    if not await run_in_threadpool(subs.registration.unsubscribe_by_token, token, service_of(request).clock()):
        return _page(lang, "sub.link_invalid_title", "sub.link_invalid", status=404)
    return _page(lang, "sub.unsubscribed_title", "sub.unsubscribed")


class InboundSms(BaseModel):
    """A message to the commune's SMS number, as the gateway forwards it."""

    sender: str = Field(alias="from", min_length=1, max_length=64, examples=["84912345678"])
    text: str = Field(max_length=1600, examples=["HUY"])


def gateway(request: Request) -> None:
    """Admit the SMS gateway: the shared secret (header `subscriptions.inbound_secret_header`, or a bearer token) from
    the environment variable; 401 when it is missing or wrong, or when none is configured (then no secret fits)."""
    s = _subs(request).settings
    expected = secret(s.inbound_secret_env)
    if expected is None:
        raise ApiProblem(401, "Authentication required", "inbound SMS is not configured on this server")
    given = request.headers.get(s.inbound_secret_header) or ""
    auth = request.headers.get("authorization", "")
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiProblem(401, "Authentication required", f"send the shared secret in {s.inbound_secret_header}")


_INBOUND_BODY = Depends(body_of(InboundSms))
"""The bounded body as InboundSms."""

@router.post("/api/v1/sms/inbound", openapi_extra=documented(InboundSms),
             summary="The SMS gateway's inbound messages: an unsubscribe keyword unsubscribes the sender")
def inbound_sms(request: Request, _: None = Depends(gateway),
                body: InboundSms = _INBOUND_BODY) -> dict[str, str]:
    """A keyword (any number, subscribed or not) is answered `unsubscribe`; any other text 200 with no action."""
    done = _subs(request).registration.inbound_sms(body.sender, body.text, service_of(request).clock())
    return {"action": "unsubscribe" if done else "none"}


# -- pages --------------------------------------------------------------------------------------------------------
def _static_page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/dang-ky", include_in_schema=False)
@router.get("/subscribe", include_in_schema=False)
def subscribe_page() -> FileResponse:
    """The public registration page."""
    return _static_page("subscribe.html")


@router.get("/residents", include_in_schema=False)
def residents_page() -> FileResponse:
    """The officers' residents screen (the page asks to sign in; the API checks each role)."""
    return _static_page("residents.html")


# -- officers -----------------------------------------------------------------------------------------------------
officer = require_role(Role.OFFICER)
admin = require_role(Role.ADMIN)


def _phone_filter(phone: str | None) -> str | None:
    if phone is None:
        return None
    try:
        return normalise(phone)
    except InvalidPhone as exc:
        raise ApiProblem(422, "Invalid request", f"phone: {exc}") from None


@router.get("/api/v1/subscribers", summary="Subscribers, by id, filtered (officer; whole numbers for admins)")
def list_subscribers(request: Request, response: Response,
                     hamlet_id: str | None = Query(None, max_length=64), status: str | None = Query(None),
                     channel: str | None = Query(None), phone: str | None = Query(None, max_length=32),
                     limit: int = Query(50, ge=1, le=1000), cursor: str | None = CURSOR_QUERY,
                     principal: Principal = Depends(officer)) -> dict[str, Any]:
    """Officers see numbers masked (+84 9x xxx x678); admins see them whole. `phone` finds one number: audited
    (`subscribers.lookup`, without the number) and, for officers, limited per hour (429 beyond)."""
    subs = _subs(request)
    if (status is not None and status not in STATUSES) or (channel is not None and channel not in CHANNELS):
        raise ApiProblem(422, "Invalid request", f"status is one of {STATUSES}, channel one of {CHANNELS}")
    limit = min(limit, subs.settings.page_size_max)
    after = decode_cursor(cursor, (int,))
    full = principal.role.allows(Role.ADMIN)
    number = _phone_filter(phone)
    if number is not None and not full:
        _limited(request, "officer-lookup", subs.settings.officer_lookups_per_hour, principal.username)
    rows = subs.page(limit + 1, after[0] if after else None, full,
                     hamlet_id=hamlet_id, status=status, channel=channel, phone=number)
    if number is not None:
        subs.audit_lookup(principal.username, [r["id"] for r in rows], service_of(request).clock())
    items, next_url = paginate(request, response, rows, limit, lambda d: (d["id"],))
    return {"items": items, "next": next_url, "full_numbers": principal.role.allows(Role.ADMIN)}


@router.get("/api/v1/subscribers/summary", summary="Subscribers per hamlet by status and channel (officer)")
def summary(request: Request, _: Principal = Depends(officer)) -> dict[str, Any]:
    """Counts only."""
    return {"hamlets": _subs(request).summary()}


class AddBody(BaseModel):
    """A resident added on their behalf; their consent was collected by the officer or village head adding them."""

    phone: str = Field(min_length=1, max_length=32, examples=["0912 345 678"])
    hamlet_id: str = Field(min_length=1, max_length=64, examples=["thon-1"])
    lang: Lang = "vi"
    channel: Channel = "zns"
    consent_collected: bool = Field(description="The resident agreed to the consent text, as you read it to them "
                                    "(must be true).")


_ADD_BODY = Depends(body_of(AddBody))
"""The bounded body as AddBody."""

@router.post("/api/v1/subscribers", status_code=201, openapi_extra=documented(AddBody),
             summary="Add a resident on their behalf, active at once (officer)")
def add_subscriber(request: Request, principal: Principal = Depends(officer),
                   body: AddBody = _ADD_BODY) -> dict[str, Any]:
    """Consent recorded as collected by you (`registered_by`); audited as `subscriber.add`."""
    if not body.consent_collected:
        raise ApiProblem(422, "Invalid request", "the resident's consent is required")
    subs = _subs(request)
    sub = _act(subs.management.add, principal.username, body.phone, body.hamlet_id, body.lang, body.channel,
               service_of(request).clock())
    return {"subscriber": subs.document(sub, principal.role.allows(Role.ADMIN))}


class ChangeBody(BaseModel):
    """What to change (only what is given)."""

    hamlet_id: str | None = Field(None, min_length=1, max_length=64)
    lang: Lang | None = None
    channel: Channel | None = None


_CHANGE_BODY = Depends(body_of(ChangeBody))
"""The bounded body as ChangeBody."""

@router.patch("/api/v1/subscribers/{subscriber_id}", openapi_extra=documented(ChangeBody),
              summary="Change a subscriber's hamlet, language or channel (officer)")
def change_subscriber(request: Request, subscriber_id: int, principal: Principal = Depends(officer),
                      body: ChangeBody = _CHANGE_BODY) -> dict[str, Any]:
    """Audited as `subscriber.change` with what was and what is."""
    subs = _subs(request)
    sub = _act(subs.management.change, principal.username, subscriber_id, body.hamlet_id, body.lang, body.channel,
               service_of(request).clock())
    return {"subscriber": subs.document(sub, principal.role.allows(Role.ADMIN))}


@router.post("/api/v1/subscribers/{subscriber_id}/unsubscribe", summary="Unsubscribe a subscriber (officer)")
def unsubscribe_subscriber(request: Request, subscriber_id: int,
                           principal: Principal = Depends(officer)) -> dict[str, Any]:
    """On the resident's request; audited as `subscriber.unsubscribe`. Idempotent."""
    subs = _subs(request)
    sub = _act(subs.management.unsubscribe, principal.username, subscriber_id, service_of(request).clock())
    return {"subscriber": subs.document(sub, principal.role.allows(Role.ADMIN))}


class EraseBody(BaseModel):
    """Why the subscriber is erased (whose request, how it came); never write the number here."""

    reason: str = Field(min_length=1, max_length=500, examples=["Yêu cầu của chủ thuê bao, đơn ngày 02/12"])


_ERASE_BODY = Depends(body_of(EraseBody))
"""The bounded body as EraseBody."""

@router.post("/api/v1/subscribers/{subscriber_id}/erase", openapi_extra=documented(EraseBody),
             summary="Erase a subscriber and everything held about them, on request (admin)")
def erase_subscriber(request: Request, subscriber_id: int, principal: Principal = Depends(admin),
                     body: EraseBody = _ERASE_BODY) -> dict[str, Any]:
    """The row, any pending code and the codes-sent count go; the audit log keeps `subscriber.erase` (id, reason)."""
    _act(_subs(request).management.erase, principal.username, subscriber_id, body.reason,
         service_of(request).clock())
    return {"erased": subscriber_id}


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"description": "The subscribers, as asked.", "content": {
    "application/json": {"schema": {"type": "object", "properties": {"subscribers": {"type": "array",
                                                                                     "items": {"type": "object"}}}}},
    "text/csv": {"schema": {"type": "string"}}}}}
"""The export's two forms, as OpenAPI."""


@router.get("/api/v1/subscribers/export", response_class=Response, responses=EXPORT_RESPONSES,
            summary="Export what is held about one number or all subscribers (admin)")
def export(request: Request, format: Literal["json", "csv"] = Query("json"),
           phone: str | None = Query(None, max_length=32, description="One number (any form); none: everyone."),
           principal: Principal = Depends(admin)) -> Response:
    """JSON (with each one's pending confirmation, unsubscribe link and, for one number, the audit entries about
    them) or CSV; audited as `subscribers.export` (without the number)."""
    subs = _subs(request)
    number = _phone_filter(phone)
    docs = subs.export(principal.username, number, service_of(request).clock())
    headers = {"Cache-Control": "no-store"}
    if format == "csv":
        headers["Content-Disposition"] = 'attachment; filename="subscribers.csv"'
        return Response(to_csv(docs), media_type="text/csv; charset=utf-8", headers=headers)
    if number is not None:
        for doc in docs:
            doc["audit"] = [{"at": iso_utc(e.ts), "actor": e.actor, "action": e.action, "detail": e.detail}
                            for e in reversed(audit.entries(service_of(request).store.query_all, MAX_AUDIT_ENTRIES,
                                                   target=target(doc["id"])))]
    return Response(json.dumps({"subscribers": docs}, ensure_ascii=False), media_type="application/json",
                    headers=headers)
