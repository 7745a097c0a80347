"""Gateway authentication settings (the `gateway_auth:` block of the deployment file)."""
from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, model_validator

from tichwatch.config.base import StrictModel

MQTT_USERNAME = r"^[A-Za-z0-9_.-]{1,64}$"
"""Broker user names: no ':' (the password file's separator), spaces or wildcards."""


class GatewayConfig(StrictModel):
    """One gateway: its broker user, the stations and cameras it publishes for, and its HMAC key."""

    username: str = Field(pattern=MQTT_USERNAME, description="The gateway's MQTT user name (in the broker's "
                          "password file).")
    stations: list[str] = Field(default_factory=list, description="Ids of the stations whose readings it may "
                                "publish.")
    cameras: list[str] = Field(default_factory=list, description="Ids of the cameras whose frames it may publish.")
    rain_gauges: list[str] = Field(default_factory=list, description="Ids of the rain gauges whose readings it may "
                                   "publish.")
    key_env: str | None = Field(None, description="Name of the environment variable holding its HMAC key; when set, "
                                "every message for its stations and cameras must be signed with it.")


class GatewayAuthSettings(StrictModel):
    """Optional per-message HMAC from gateways, so forged or replayed readings are rejected."""

    gateways: list[GatewayConfig] = Field(default_factory=list, description="Gateways and what each may publish "
                                          "(the broker's ACL is generated from this).")
    readers: list[str] = Field(default_factory=list, description="Other broker users that may read alerts, the "
                               "service status and dead letters (sirens, Node-RED, operators).")
    hmac_required: bool = Field(False, description="Every gateway must have a key_env and every station and camera "
                                "a gateway: no unsigned message is accepted.")
    clock_window_s: int = Field(300, ge=10, le=3600, description="Largest clock difference between a gateway and "
                                "the service, seconds: how far a signature's time may be ahead of the service clock "
                                "(and at least how old it may be).")
    signature_max_age_s: int = Field(7 * 24 * 3600, ge=10, description="Oldest signature accepted, seconds: "
                                     "messages the broker kept for the service while it was away arrive late, so "
                                     "match mqtt.session_expiry_s. Nonces are remembered (in the data directory) "
                                     "this long, so a replay within it is still refused.")
    replay_cache_max: int = Field(100_000, ge=100, description="Most nonces remembered; size it above the signed "
                                  "messages of signature_max_age_s (when full, the oldest is forgotten and "
                                  "signatures at or before its time are refused as possible replays).")

    @model_validator(mode="after")
    def _consistent(self) -> GatewayAuthSettings:
        users = [g.username for g in self.gateways] + list(self.readers)
        dup = sorted({u for u in users if users.count(u) > 1})
        if dup:
            raise ValueError(f"user names listed twice in gateways/readers: {dup}")
        for kind in ("stations", "cameras", "rain_gauges"):
            ids = [i for g in self.gateways for i in getattr(g, kind)]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"{kind} assigned to more than one gateway: {dup}")
        if self.signature_max_age_s < self.clock_window_s:
            raise ValueError("signature_max_age_s must be at least clock_window_s (a gateway's clock may be behind)")
        if self.hmac_required and any(g.key_env is None for g in self.gateways):
            raise ValueError("hmac_required: every gateway needs a key_env")
        return self

    def check_subjects(self, station_ids: Sequence[str], camera_ids: Sequence[str],
                       rain_gauge_ids: Sequence[str] = ()) -> None:
        """Raise ValueError when a gateway names an unknown station, camera or rain gauge, or (hmac_required) one has
        no gateway."""
        for kind, known in (("stations", set(station_ids)), ("cameras", set(camera_ids)),
                            ("rain_gauges", set(rain_gauge_ids))):
            owned = {i for g in self.gateways for i in getattr(g, kind)}
            if owned - known:
                raise ValueError(f"gateway_auth.gateways name {kind} that are not configured: {sorted(owned - known)}")
            if self.hmac_required and known - owned:
                raise ValueError(f"gateway_auth.hmac_required: {kind} without a gateway: {sorted(known - owned)}")
