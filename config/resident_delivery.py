"""Delivery to subscribed residents (`subscriptions.zns`, `subscriptions.sms`, `subscriptions.notify`): the Zalo ZNS
templates (one approved template per message kind, and which of our fields fill which template parameter), the SMS
gateway residents get texts through (an SMS receiver's gateway, addressed per resident), costs, rates, concurrency,
and which alerts and bulletins reach which residents."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tichwatch.config.base import StrictModel

MESSAGE_FIELDS = ("station", "level", "value", "time", "hamlets", "action", "impact", "link", "title", "text",
                  "code", "commune", "bulletin_link")
"""Our fields a ZNS template parameter can be filled from: station name, alarm level name, value with its unit, local
time, affected hamlets, action, the whole impact line, unsubscribe link, title, text (bulletin quote, confirmation
message), the confirmation code (the first run of 4-10 digits of the text), the commune's name and the link to a
bulletin's full text."""

MESSAGE_KINDS = ("flood_alert", "forecast_warning", "all_clear", "bulletin", "confirmation")
"""The kinds of message residents get, each with its own ZNS template."""


class ZnsParam(StrictModel):
    """One parameter of an approved ZNS template."""

    field: Literal["station", "level", "value", "time", "hamlets", "action", "impact", "link", "title", "text",
                   "code", "commune", "bulletin_link"] = Field(description="Which of our fields fills it (see "
                                                               "MESSAGE_FIELDS).")
    max_chars: int = Field(30, ge=1, le=400, description="Longest value the template's parameter type takes "
                           "(Zalo: custom label 30, address 200, …); longer values are cut with '…'.")


class ZnsTemplate(StrictModel):
    """An approved ZNS template: its id and how its parameters are filled."""

    template_id: str = Field(pattern=r"^[0-9]{1,20}$", description="Template id Zalo gave when approving it.")
    params: dict[str, ZnsParam] = Field(description="Template parameter name → the field that fills it.")

    @field_validator("params")
    @classmethod
    def _names(cls, v: dict[str, ZnsParam]) -> dict[str, ZnsParam]:
        if not v or len(v) > 30 or any(not (0 < len(k) <= 64) for k in v):
            raise ValueError("1-30 parameters, names of 1-64 characters")
        return v


class ZnsTemplates(StrictModel):
    """One approved template per message kind; a kind without one goes by SMS."""

    flood_alert: ZnsTemplate | None = Field(None, description="A flood level alert opened or rose (impact line, "
                                            "value, time, unsubscribe link).")
    forecast_warning: ZnsTemplate | None = Field(None, description="A forecast says a level will be reached.")
    all_clear: ZnsTemplate | None = Field(None, description="The alert the resident was told of has ended.")
    bulletin: ZnsTemplate | None = Field(None, description="A published bulletin's quote.")
    confirmation: ZnsTemplate | None = Field(None, description="The confirmation code of a self-registration "
                                             "(Zalo's OTP template type).")

    def of(self, kind: str) -> ZnsTemplate | None:
        """The template of a message kind, or None."""
        found = getattr(self, kind, None)
        return found if isinstance(found, ZnsTemplate) else None


class ZnsSettings(StrictModel):
    """Zalo Notification Service: template messages to residents by phone number."""

    enabled: bool = Field(False, description="Send to residents who chose Zalo through ZNS (off: they get SMS).")
    url: str = Field("https://business.openapi.zalo.me/message/template", pattern=r"^https?://",
                     description="ZNS send endpoint.")
    access_token_env: str = Field("TICHWATCH_ZNS_ACCESS_TOKEN", description="Environment variable holding the "
                                  "Official Account's access token (Zalo Cloud Account with ZNS).")
    timeout_s: float = Field(10.0, gt=0, le=60, description="Time limit of one request, seconds.")
    templates: ZnsTemplates = Field(default_factory=ZnsTemplates, description="Approved templates per message kind.")
    cost_vnd: int = Field(300, ge=0, le=100_000, description="What one delivered ZNS message costs, VND (the "
                          "price of the template type in the commune's contract), for the cost counter.")
    rate_per_min: int = Field(600, ge=1, le=60_000, description="Most ZNS requests per minute, over all parallel "
                              "senders.")
    concurrency: int = Field(4, ge=1, le=32, description="ZNS messages sent at the same time (each resident's "
                             "messages still go one at a time and in order).")
    app_id: str | None = Field(None, pattern=r"^[0-9]{1,30}$", description="The Zalo app id the delivery-receipt "
                               "webhook events carry (part of their signature).")
    oa_secret_env: str = Field("TICHWATCH_ZNS_OA_SECRET", description="Environment variable holding the OA secret "
                               "key that signs webhook events (X-ZEvent-Signature); unset: receipts are refused.")
    webhook_max_bytes: int = Field(16_384, ge=1024, le=262_144, description="Largest webhook event body, bytes.")


class ResidentSmsSettings(StrictModel):
    """SMS to residents, through the gateway of one of the alert receivers, addressed per resident."""

    gateway_receiver: str | None = Field(None, description="Name of an `alerts.receivers` entry of type `sms` whose "
                                         "gateway (URL, body, token, 160 characters, no diacritics) carries resident "
                                         "texts; its `to` is replaced by each resident's number. None: no SMS.")
    cost_vnd: int = Field(800, ge=0, le=100_000, description="What one SMS costs, VND (brand-name SMS price), for "
                          "the cost counter.")
    rate_per_min: int = Field(300, ge=1, le=60_000, description="Most SMS per minute, over all parallel senders.")
    concurrency: int = Field(2, ge=1, le=32, description="SMS sent at the same time (per resident one at a time).")


AlertMessageKind = Literal["flood_alert", "forecast_warning"]
"""The message kinds an alert can bring residents."""


def _default_alert_kinds() -> dict[str, AlertMessageKind]:
    return {"flood.level": "flood_alert", "flood.forecast": "forecast_warning"}


class ResidentNotifySettings(StrictModel):
    """Which alerts and bulletins reach which residents."""

    alert_kinds: dict[str, AlertMessageKind] = Field(
        default_factory=_default_alert_kinds,
        description="Alert kinds residents are told of, and the message kind they get: when such an alert opens or "
                    "rises to a level with an impact, the active subscribers of the hamlets that level affects get "
                    "one message; at its end, the all-clear goes to those told.")
    all_clear: bool = Field(True, description="Tell residents when the alert they were told of ends.")
    max_reading_age_s: float = Field(3600.0, gt=0, le=86_400, description="An alert change whose latest reading is "
                                     "older than this (a gateway's backlog after an outage) is not sent to residents, "
                                     "seconds: it is history, not a warning.")
    bulletins: Literal["affected", "all", "none"] = Field("affected", description="Who gets a published bulletin's "
                                                          "quote: the subscribers of the hamlets affected now (open "
                                                          "alerts of `alert_kinds`; nobody while nothing is "
                                                          "affected), every subscriber, or nobody.")
    catch_up_s: float = Field(3600.0, ge=0, le=86_400, description="At start, bulletins published this long ago or "
                              "less that were not yet handed to residents (a stop in between) are, seconds.")
