"""Alert settings (the `alerts:` block of the deployment file): receivers and their channels, routes, inhibition,
maintenance windows, repeat intervals, escalation chains and delivery.

Secrets never live here: each channel names the environment variable that holds its token or password.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from tichwatch.config.base import StrictModel
from tichwatch.config.loudspeaker import LoudspeakerChannel
from tichwatch.core.detection import Severity

SeverityName = Literal["info", "warning", "critical", "emergency"]
"""A severity as written in the deployment file."""

NoticeKind = Literal["firing", "raised", "lowered", "repeat", "acknowledged", "resolved"]
"""What a notification says about its alert: first notice, severity up or down, reminder, acknowledged, resolved."""

PEOPLE_NOTICES: tuple[NoticeKind, ...] = ("firing", "raised", "repeat", "resolved")
"""The notices a person receives by default (no news of acknowledgements or lower severity)."""

ALL_NOTICES: tuple[NoticeKind, ...] = ("firing", "raised", "lowered", "repeat", "acknowledged", "resolved")
"""Every notice kind (state mirrors such as MQTT take them all)."""

MUTED_NOTICES: tuple[NoticeKind, ...] = ("firing", "raised", "lowered", "repeat")
"""The notices an inhibition mutes by default (acknowledgements and resolutions still go out)."""

NAME = r"^[A-Za-z0-9_.-]{1,64}$"
"""Receiver, area and chain names: they appear in URLs, logs and metrics."""


def severity_of(name: SeverityName) -> Severity:
    """The Severity for a name from the file."""
    return Severity[name.upper()]


class Matchers(StrictModel):
    """Which alerts something applies to; every given condition must hold (an empty list matches anything)."""

    kinds: list[str] = Field(default_factory=list, description="Alert kinds: an exact kind (`flood.level`) or a "
                             "prefix ending in a dot (`sensor.`); any kind when empty.")
    subjects: list[str] = Field(default_factory=list, description="Station or camera ids; any subject when empty.")
    areas: list[str] = Field(default_factory=list, description="Area names (see `alerts.areas`); any area when empty.")
    min_severity: SeverityName = Field("info", description="Lowest severity that matches.")
    max_severity: SeverityName = Field("emergency", description="Highest severity that matches.")


class Area(StrictModel):
    """A named group of stations and cameras (a hamlet, a dyke section) for routing and inhibition."""

    name: str = Field(pattern=NAME, description="Area name used by matchers.")
    subjects: list[str] = Field(min_length=1, description="Station and camera ids in the area.")


class _HttpChannel(StrictModel):
    """What every HTTP channel has."""

    timeout_s: float = Field(10.0, gt=0, le=120, description="Time limit of one request, seconds.")


class WebhookChannel(_HttpChannel):
    """POST of the alert as JSON, signed with HMAC-SHA256 over `<timestamp>.<body>`."""

    type: Literal["webhook"] = Field(description="Channel type.")
    url: str = Field(pattern=r"^https?://", description="URL the JSON is posted to.")
    secret_env: str | None = Field(None, description="Environment variable holding the HMAC key; unsigned when "
                                   "empty.")


class EmailChannel(StrictModel):
    """Email through an SMTP server (STARTTLS and authentication), plain text and HTML."""

    type: Literal["email"] = Field(description="Channel type.")
    host: str = Field(description="SMTP server host.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port (587 submission with STARTTLS).")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before authenticating.")
    tls_ca_file: Path | None = Field(None, description="CA certificate to verify the server with; system CAs when "
                                     "empty.")
    username: str | None = Field(None, description="SMTP user; no authentication when empty.")
    password_env: str = Field("TICHWATCH_SMTP_PASSWORD", description="Environment variable holding the SMTP "
                              "password.")
    from_addr: str = Field(description="Sender address.")
    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    timeout_s: float = Field(20.0, gt=0, le=120, description="Time limit of the SMTP conversation, seconds.")


class TelegramChannel(_HttpChannel):
    """Telegram Bot API sendMessage to one chat."""

    type: Literal["telegram"] = Field(description="Channel type.")
    base_url: str = Field("https://api.telegram.org", description="Bot API base URL.")
    token_env: str = Field("TICHWATCH_TELEGRAM_TOKEN", description="Environment variable holding the bot token.")
    chat_id: str = Field(description="Chat, group or channel id (e.g. -1001234567890 or @channel).")


class ZaloChannel(_HttpChannel):
    """Zalo Official Account customer-service message to one follower."""

    type: Literal["zalo"] = Field(description="Channel type.")
    base_url: str = Field("https://openapi.zalo.me", description="Zalo OA API base URL.")
    access_token_env: str = Field("TICHWATCH_ZALO_TOKEN", description="Environment variable holding the OA access "
                                  "token.")
    user_id: str = Field(description="The follower's user id for this OA.")


class FacebookChannel(_HttpChannel):
    """A post on a Facebook Page (Graph API): public, so give its receiver `audience: public`."""

    type: Literal["facebook"] = Field(description="Channel type.")
    base_url: str = Field("https://graph.facebook.com", description="Graph API base URL.")
    api_version: str = Field("v19.0", description="Graph API version.")
    page_id: str = Field(description="Page id.")
    access_token_env: str = Field("TICHWATCH_FACEBOOK_TOKEN", description="Environment variable holding the Page "
                                  "access token.")


class YouTubeChannel(StrictModel):
    """Video bulletins uploaded to a YouTube channel (Data API v3 resumable upload, OAuth 2.0 refresh token): takes
    bulletins only (route no alerts to it); public, so give its receiver `audience: public`."""

    type: Literal["youtube"] = Field(description="Channel type.")
    upload_url: str = Field("https://www.googleapis.com/upload/youtube/v3/videos", description="videos.insert "
                            "upload URL (a local server in tests).")
    token_url: str = Field("https://oauth2.googleapis.com/token", description="OAuth 2.0 token endpoint.")
    client_id_env: str = Field("TICHWATCH_YOUTUBE_CLIENT_ID", description="Environment variable holding the OAuth "
                               "client id.")
    client_secret_env: str = Field("TICHWATCH_YOUTUBE_CLIENT_SECRET", description="Environment variable holding the "
                                   "OAuth client secret.")
    refresh_token_env: str = Field("TICHWATCH_YOUTUBE_REFRESH_TOKEN", description="Environment variable holding the "
                                   "refresh token the channel's owner granted (scope youtube.upload).")
    privacy_status: Literal["public", "unlisted", "private"] = Field("public", description="Who may watch the "
                                                                     "uploaded videos.")
    category_id: str = Field("25", pattern=r"^[0-9]{1,3}$", description="YouTube video category (25: News & "
                             "Politics).")
    tags: list[str] = Field(default_factory=lambda: ["TichWatch", "sông Tích", "cảnh báo lũ"],
                            max_length=20, description="Tags of every video.")
    request_timeout_s: float = Field(60.0, gt=0, le=600, description="Time limit of one request, seconds (the "
                                     "upload's socket reads and writes included).")
    timeout_s: float = Field(900.0, gt=0, le=3600, description="Time limit of one delivery: making the video (once "
                             "per bulletin) and the whole upload, seconds.")
    max_video_mb: int = Field(64, ge=1, le=1024, description="Largest video made and uploaded, MiB.")
    video_timeout_s: float = Field(300.0, gt=0, le=1800, description="Time limit of ffmpeg making one video, "
                                   "seconds.")


class SmsChannel(_HttpChannel):
    """SMS through an HTTP gateway: URL and body are templates with `to`, `text`, `idempotency_key`, `alert_id`."""

    type: Literal["sms"] = Field(description="Channel type.")
    url_template: str = Field(description="Gateway URL template (values are URL-encoded when put in).")
    method: Literal["POST", "GET"] = Field("POST", description="HTTP method.")
    body_template: str | None = Field(None, description="Request body template; none for GET.")
    content_type: str = Field("application/json", description="Content-Type of the body.")
    to: str = Field(pattern=r"^\+?[0-9]{6,15}$", description="Phone number, preferably +84…")
    token_env: str | None = Field(None, description="Environment variable holding the gateway token; sent as "
                                  "`<auth_header>: <auth_prefix><token>`.")
    auth_header: str = Field("Authorization", description="Header that carries the token.")
    auth_prefix: str = Field("Bearer ", description="Text before the token in that header.")
    max_chars: int = Field(160, ge=20, le=1600, description="Longest message, characters.")
    ascii_only: bool = Field(True, description="Write Vietnamese without diacritics so a message fits one 160-"
                             "character GSM segment.")


class MqttChannel(StrictModel):
    """Retained JSON alert state on `<topic_prefix>/alerts/<alert_id>` through the service's own MQTT connection."""

    type: Literal["mqtt"] = Field(description="Channel type.")
    qos: Literal[0, 1] = Field(1, description="MQTT QoS of the publication.")
    publish_timeout_s: float = Field(5.0, gt=0, description="How long to wait for the broker's PUBACK, seconds.")


class LogChannel(StrictModel):
    """The service log (always works; for the demo and as the last resort)."""

    type: Literal["log"] = Field(description="Channel type.")


ChannelConfig = Annotated[
    WebhookChannel | EmailChannel | TelegramChannel | ZaloChannel | FacebookChannel | SmsChannel | MqttChannel
    | LogChannel | YouTubeChannel | LoudspeakerChannel,
    Field(discriminator="type"),
]
"""One channel block, told apart by its `type`."""

class ReceiverConfig(StrictModel):
    """A named destination: one channel with its settings, a language and an audience."""

    name: str = Field(pattern=NAME, description="Receiver name used by routes and escalation tiers.")
    channel: ChannelConfig = Field(description="The channel block (its `type` says which).")
    language: Literal["vi", "en"] | None = Field(None, description="Language of the messages; the deployment's "
                                                 "language when empty.")
    audience: Literal["officers", "public"] = Field("officers", description="`public` messages carry no acknowledge "
                                                    "link and give residents' advice instead of officers' tasks.")
    notify_on: list[NoticeKind] = Field(default_factory=lambda: list(PEOPLE_NOTICES), description="Notice kinds this "
                                        "receiver gets: firing, raised, lowered, repeat, acknowledged, resolved.")


class Route(StrictModel):
    """Alerts that match go to these receivers; every matching route adds its receivers."""

    match: Matchers = Field(default_factory=Matchers, description="Which alerts the route takes.")
    receivers: list[str] = Field(min_length=1, description="Receiver names, or `roster:on_duty` / `roster:next` "
                                 "(the receivers of whoever the duty roster has first / second in line).")


class InhibitRule(StrictModel):
    """While a source alert is open, target alerts sharing its subject (or area) are muted for the given notices."""

    name: str = Field(pattern=NAME, description="Rule name (shown as the reason of a muted notification).")
    source: Matchers = Field(description="The alerts that inhibit.")
    target: Matchers = Field(description="The alerts that are inhibited.")
    equal: Literal["subject", "area"] = Field("subject", description="What source and target must share: the same "
                                              "subject, or an area (the same subject counts as sharing one).")
    notices: list[NoticeKind] = Field(default_factory=lambda: list(MUTED_NOTICES),
                                      description="Notice kinds of the target that are muted.")


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
"""A weekday name of a maintenance window."""
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names of maintenance windows, Monday first (as datetime.weekday())."""


class MaintenanceWindow(StrictModel):
    """A recurring local-time window (e.g. gauge calibration every Tuesday 08:00-10:00) that mutes matching alerts."""

    name: str = Field(pattern=NAME, description="Window name.")
    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS), description="Days the window starts on.")
    start_local: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Start, local time HH:MM.")
    end_local: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="End, local time HH:MM (before the "
                           "start: the window runs past midnight).")
    match: Matchers = Field(default_factory=Matchers, description="Which alerts it mutes.")
    reason: str = Field("bảo trì định kỳ", description="Why (recorded with the muted notification).")


class RepeatIntervals(StrictModel):
    """How often an unacknowledged alert is sent again, per severity."""

    info_s: float | None = Field(None, gt=0, description="Repeat interval of info alerts, seconds; none: no repeat.")
    warning_s: float | None = Field(4 * 3600, gt=0, description="Repeat interval of warnings, seconds.")
    critical_s: float | None = Field(3600, gt=0, description="Repeat interval of critical alerts, seconds.")
    emergency_s: float | None = Field(1800, gt=0, description="Repeat interval of emergencies, seconds.")

    def for_severity(self, severity: Severity) -> float | None:
        """The interval for a severity, or None for no repeat."""
        interval: float | None = getattr(self, f"{severity.name.lower()}_s")
        return interval


class EscalationTier(StrictModel):
    """One step of an escalation chain."""

    name: str = Field(min_length=1, description="Who this tier is, for messages (e.g. 'Phó Chủ tịch UBND xã').")
    after_s: float = Field(ge=0, description="Time without acknowledgement after which this tier is notified, seconds "
                           "since the alert started firing (or last rose in severity).")
    receivers: list[str] = Field(min_length=1, description="Receiver names of the tier, or a duty roster's "
                                 "position: `roster:on_duty` (first in line) or `roster:next` (second in line: the "
                                 "shift's backup, else who comes on next).")


class EscalationChain(StrictModel):
    """Unacknowledged alerts that match climb the tiers; an acknowledgement stops the climb."""

    name: str = Field(pattern=NAME, description="Chain name.")
    match: Matchers = Field(default_factory=lambda: Matchers(min_severity="warning"), description="Which alerts "
                            "escalate.")
    tiers: list[EscalationTier] = Field(min_length=1, description="Tiers in order; after_s must rise.")

    @model_validator(mode="after")
    def _rising(self) -> EscalationChain:
        times = [t.after_s for t in self.tiers]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("tiers[].after_s must rise from tier to tier")
        return self


ROSTER_ON_DUTY = "roster:on_duty"
"""A receiver list entry meaning: the receivers of the officer first in line on the duty roster now."""
ROSTER_NEXT = "roster:next"
"""A receiver list entry meaning: the receivers of the officer second in line (the backup, else the next shift's)."""
ROSTER_TARGETS: tuple[str, ...] = (ROSTER_ON_DUTY, ROSTER_NEXT)
"""Roster positions a route or an escalation tier may name instead of receivers (in line order)."""

LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
"""A local time of day, HH:MM."""
USERNAME = r"^[^\s:\x00-\x1f\x7f]{1,64}$"
"""An officer account's user name (as the accounts allow it: no spaces, control characters or colon)."""


class RosterOfficer(StrictModel):
    """An officer on the duty roster: the account they sign in with and where their notifications go."""

    username: str = Field(pattern=USERNAME, description="The officer's account (user name).")
    name: str = Field(min_length=1, max_length=100, description="Name shown on the roster (e.g. 'Nguyễn Văn An').")
    receivers: list[str] = Field(min_length=1, max_length=10, description="Receiver names that reach this officer "
                                 "(e.g. their Telegram chat and SMS).")


class RosterShift(StrictModel):
    """A recurring shift in local time; its officers in line order (the first is on duty, the others back up)."""

    name: str = Field(pattern=NAME, description="Shift name (e.g. `ngay`, `dem`).")
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), description="Days the shift starts on.")
    start_local: str = Field(pattern=LOCAL_TIME, description="Start, local time HH:MM.")
    end_local: str = Field(pattern=LOCAL_TIME, description="End, local time HH:MM (before the start: the shift runs "
                           "past midnight into the next day; equal to the start: 24 hours).")
    officers: list[str] = Field(min_length=1, max_length=20, description="User names of the officers of the shift, "
                                "first in line first.")


class RosterSettings(StrictModel):
    """Who is on duty when: officers and weekly shifts in local time. Officers swap shifts through overrides
    (`POST /api/v1/roster/overrides`, stored and audited); routes and escalation tiers reach whoever is in line
    through `roster:on_duty` and `roster:next`."""

    officers: list[RosterOfficer] = Field(default_factory=list, max_length=200, description="Officers who can be "
                                          "on duty.")
    shifts: list[RosterShift] = Field(default_factory=list, max_length=200, description="Weekly shifts; where two "
                                      "overlap, their officers are in line in the order the shifts are listed.")

    @model_validator(mode="after")
    def _known_officers(self) -> RosterSettings:
        names = [o.username for o in self.officers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"roster officers listed twice: {dup}")
        unknown = sorted({u for s in self.shifts for u in s.officers} - set(names))
        if unknown:
            raise ValueError(f"roster shifts name officers not in roster.officers: {unknown}")
        return self

    def officer(self, username: str) -> RosterOfficer | None:
        """The roster's officer with this user name, or None."""
        return next((o for o in self.officers if o.username == username), None)


def send_timeout_s(cfg: ChannelConfig) -> float:
    """A channel's own time limit for one send (0 for the log, which does not wait)."""
    if isinstance(cfg, MqttChannel):
        return cfg.publish_timeout_s
    return float(getattr(cfg, "timeout_s", 0.0))


class RateLimits(StrictModel):
    """Most messages per minute to one receiver of each channel type (providers throttle or ban above)."""

    webhook_per_min: int = Field(600, ge=1, description="Webhook messages per minute per receiver.")
    email_per_min: int = Field(30, ge=1, description="Emails per minute per receiver.")
    telegram_per_min: int = Field(20, ge=1, description="Telegram messages per minute per chat (Bot API limit).")
    zalo_per_min: int = Field(30, ge=1, description="Zalo OA messages per minute per receiver.")
    facebook_per_min: int = Field(4, ge=1, description="Facebook Page posts per minute.")
    sms_per_min: int = Field(10, ge=1, description="SMS per minute per receiver.")
    mqtt_per_min: int = Field(6000, ge=1, description="MQTT publications per minute.")
    log_per_min: int = Field(6000, ge=1, description="Log lines per minute.")
    youtube_per_min: int = Field(2, ge=1, description="YouTube video uploads per minute.")
    loudspeaker_per_min: int = Field(20, ge=1, description="Loudspeaker packages per minute per receiver.")

    def for_channel(self, channel_type: str) -> int:
        """The limit of a channel type."""
        return int(getattr(self, f"{channel_type}_per_min"))


class DeliverySettings(StrictModel):
    """How the outbox is delivered: retries with exponential backoff, rate limits."""

    max_attempts: int = Field(10, ge=1, le=100, description="Attempts before a message counts as failed (and raises "
                              "a `delivery.failed` alert).")
    backoff_base_s: float = Field(10.0, gt=0, description="Wait after the first failed attempt, seconds; doubles "
                                  "with every further attempt.")
    backoff_max_s: float = Field(600.0, gt=0, description="Longest wait between attempts, seconds (a longer "
                                 "Retry-After from the provider is honoured).")
    poll_interval_s: float = Field(1.0, gt=0, le=60, description="How often each receiver's dispatcher looks for "
                                   "due messages when not woken, seconds.")
    send_grace_s: float = Field(5.0, gt=0, le=300, description="How long a send may run past its channel's own time "
                                "limit before the attempt counts as unanswered (outcome unknown: the next attempt "
                                "waits for the backoff and for this one to end), seconds.")
    rate_limits: RateLimits = Field(default_factory=RateLimits, description="Per-receiver rate limits by channel "
                                    "type.")


def _default_receivers() -> list[ReceiverConfig]:
    return [ReceiverConfig(name="log", channel=LogChannel(type="log")),
            ReceiverConfig(name="mqtt", channel=MqttChannel(type="mqtt"), notify_on=list(ALL_NOTICES))]


def _default_inhibit() -> list[InhibitRule]:
    return [
        InhibitRule(name="station-offline", source=Matchers(kinds=["sensor.offline"]),
                    target=Matchers(kinds=["flood.rapid_rise", "flood.forecast", "sensor.stuck", "sensor.spike",
                                           "sensor.clock"])),
        InhibitRule(name="camera-offline", source=Matchers(kinds=["camera.offline"]),
                    target=Matchers(kinds=["camera.", "dust."])),
        InhibitRule(name="bd3-over-lower-reminders", source=Matchers(kinds=["flood.level"], min_severity="emergency"),
                    target=Matchers(kinds=["flood."], max_severity="critical"), equal="area", notices=["repeat"]),
    ]


class AlertSettings(StrictModel):
    """Routing, silences, repeat, escalation and channels of alert notifications."""

    receivers: list[ReceiverConfig] = Field(default_factory=_default_receivers, description="Where notifications "
                                            "can go (default: the log and MQTT alert state).")
    routes: list[Route] = Field(default_factory=lambda: [Route(receivers=["log", "mqtt"])], description="Which "
                                "alerts go to which receivers.")
    areas: list[Area] = Field(default_factory=list, description="Named groups of stations and cameras.")
    inhibit: list[InhibitRule] = Field(default_factory=_default_inhibit, description="Open alerts that mute others.")
    maintenance: list[MaintenanceWindow] = Field(default_factory=list, description="Recurring maintenance windows "
                                                 "(local time).")
    repeat: RepeatIntervals = Field(default_factory=RepeatIntervals, description="Reminders while unacknowledged.")
    escalation: list[EscalationChain] = Field(default_factory=list, description="Escalation chains.")
    delivery: DeliverySettings = Field(default_factory=DeliverySettings, description="Outbox delivery.")
    roster: RosterSettings = Field(default_factory=RosterSettings, description="The duty roster: who is on duty "
                                   "when, reached through `roster:on_duty` and `roster:next`.")
    resolve_hold_s: float = Field(300.0, ge=0, description="How long a detector must stay clear before its alert "
                                  "resolves, seconds (a re-raise within it continues the same alert).")
    flap_window_s: float = Field(3600.0, gt=0, description="Window in which the clears of one (kind, subject) are "
                                 "counted to detect flapping, seconds.")
    flap_max_clears: int = Field(3, ge=1, description="Clears within the window after which the hold before "
                                 "resolving grows to the whole window (bounds the notifications of a flapping "
                                 "detector).")
    tick_interval_s: float = Field(10.0, gt=0, le=300, description="How often repeats, escalation, holds and silence "
                                   "expiry are evaluated, seconds.")
    ack_link_ttl_s: float = Field(24 * 3600, gt=0, description="How long an acknowledge link in a message stays "
                                  "valid, seconds.")
    ack_link_key_env: str = Field("TICHWATCH_ACK_LINK_KEY", description="Environment variable holding the key that "
                                  "signs acknowledge links; generated and kept in the data directory when unset.")

    @field_validator("receivers")
    @classmethod
    def _unique_receivers(cls, v: list[ReceiverConfig]) -> list[ReceiverConfig]:
        names = [r.name for r in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate receiver names: {dup}")
        return v

    @model_validator(mode="after")
    def _references_known(self) -> AlertSettings:
        known = {r.name for r in self.receivers}
        used = [n for route in self.routes for n in route.receivers]
        used += [n for chain in self.escalation for tier in chain.tiers for n in tier.receivers]
        unknown = sorted(set(used) - known - set(ROSTER_TARGETS))
        if unknown:
            raise ValueError(f"routes or escalation tiers name unknown receivers: {unknown}")
        if set(used) & set(ROSTER_TARGETS) and not self.roster.shifts:
            raise ValueError("routes or escalation tiers name roster:… but alerts.roster has no shifts")
        unknown = sorted({n for o in self.roster.officers for n in o.receivers} - known)
        if unknown:
            raise ValueError(f"roster officers name unknown receivers: {unknown}")
        areas = {a.name for a in self.areas}
        named = [a for m in self._all_matchers() for a in m.areas]
        if set(named) - areas:
            raise ValueError(f"matchers name unknown areas: {sorted(set(named) - areas)}")
        return self

    def _all_matchers(self) -> list[Matchers]:
        return ([r.match for r in self.routes] + [m for rule in self.inhibit for m in (rule.source, rule.target)]
                + [w.match for w in self.maintenance] + [c.match for c in self.escalation])

    def receiver(self, name: str) -> ReceiverConfig | None:
        """The receiver with this name, or None."""
        return next((r for r in self.receivers if r.name == name), None)

    def areas_of(self, subject: str) -> frozenset[str]:
        """Names of the areas a subject belongs to."""
        return frozenset(a.name for a in self.areas if subject in a.subjects)
