"""Bulletin and feed settings (the `bulletins:` block of the deployment file)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from tichwatch.config.base import StrictModel

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
"""A local time of day, HH:MM."""


DEPRECATED_FIELDS = ("retry_attempts", "retry_first_delay_s", "retry_max_delay_s")
"""Settings older files may still set; ignored since bulletins are delivered through the alerts' outbox."""


class BulletinSettings(StrictModel):
    """When bulletins are drafted, who must approve them, where they go, and how CAP messages name their sender."""

    daily_local: str = Field("07:00", pattern=HHMM, description="Local time of the daily bulletin, HH:MM.")
    retry_attempts: int | None = Field(None, description="Deprecated and ignored: bulletin deliveries are retried "
                                       "like alert notifications (alerts.delivery); kept so older files still load.")
    retry_first_delay_s: float | None = Field(None, description="Deprecated and ignored (see retry_attempts).")
    retry_max_delay_s: float | None = Field(None, description="Deprecated and ignored (see retry_attempts).")

    hourly_from_level: Literal["BD1", "BD2", "BD3"] = Field(
        "BD2", description="A bulletin is drafted every hour (on the hour, local time) while a flood.level alert at "
        "this alarm level or above is open; daily otherwise.")
    emergency_without_approval: bool = Field(
        False, description="Emergency bulletins (those drafted while a flood.level alert at hourly_from_level or "
        "above is open) are published at once by the schedule, and a communicator may publish one on demand, "
        "without an officer's approval.")
    channels: list[str] = Field(default_factory=list, description="Receiver names (from alerts.receivers) a "
                                "bulletin is published to when the publisher does not choose others; the Atom "
                                "feed always carries it.")
    public_kinds: list[str] = Field(["flood.", "dust."], description="Alert kinds (exact, or a prefix ending in a "
                                    "dot) that bulletins list as active alerts and the CAP and Atom feeds publish.")
    audio: bool = Field(True, description="Synthesise the radio script (espeak-ng, voice vi) when publishing.")
    audio_format: Literal["ogg", "wav"] = Field("ogg", description="Audio file for the radio operator: ogg (Vorbis, "
                                                "small) or wav (16 kHz mono PCM).")
    speech_rate_wpm: int = Field(140, ge=80, le=260, description="Speaking rate of the synthesised script, words per "
                                 "minute.")
    quote_station: str | None = Field(None, description="Station the quotable sentence is about (e.g. the official "
                                      "station nearest the commune); when empty, the one highest against its alarm "
                                      "levels.")
    source_name: str = Field("TichWatch", min_length=1, description="Name of the system quoted as the source of the "
                             "figures.")
    cap_sender: str = Field("tichwatch@kieuphu.hanoi.gov.vn", pattern=r"^[^\s,<&]+$", description="CAP <sender>: "
                            "the commune's stable identifier of this system (no spaces, commas, '<' or '&').")
    cap_status: Literal["Actual", "Exercise", "Test"] = Field("Actual", description="CAP <status> of published "
                                                              "messages: Actual, or Exercise during a drill, Test.")
    cap_expires_s: float = Field(6 * 3600, gt=0, description="CAP <expires> of an alert or update, seconds after it "
                                 "was sent (a newer message replaces it sooner).")
    cap_cancel_expires_s: float = Field(3600.0, gt=0, description="CAP <expires> of a Cancel (the all-clear), "
                                        "seconds after it was sent: long enough for every reader to see it.")
    dust_area_radius_m: float = Field(500.0, gt=0, description="Radius of the CAP area around a camera's site for "
                                      "dust alerts, metres.")
    tick_interval_s: float = Field(60.0, gt=0, le=3600, description="How often the schedule is checked, seconds.")

    @property
    def deprecated_set(self) -> list[str]:
        """The deprecated fields this file still sets (the service warns about them at start)."""
        return [name for name in DEPRECATED_FIELDS if getattr(self, name) is not None]
