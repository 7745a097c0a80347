"""The smart-loudspeaker handoff (the `loudspeaker:` block): packages for the provincial source system (Thông tư
39/2020/TT-BTTTT), and the channel block of a receiver that takes them (`type: loudspeaker` in `alerts.receivers`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from tichwatch.config.base import StrictModel

LocalTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
"""A local time of day, HH:MM."""


class LoudspeakerSettings(StrictModel):
    """What goes into a loudspeaker package: priorities, validity, play schedule and the MP3 audio. Where packages go
    is a receiver with a `loudspeaker` channel (an HTTP endpoint of the source system, or a drop folder)."""

    source_id: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$", description="The commune's code in the "
                           "provincial source system (mã đài / mã đơn vị the province gives); the package's "
                           "`source.id`. Empty: none is sent, only the commune's name.")
    emergency_from_level: Literal["BD1", "BD2", "BD3"] = Field("BD2", description="A flood.level alert that opens or "
                                                               "rises to this level or above makes an emergency "
                                                               "(khẩn cấp) package, played at once.")
    emergency_plays: int = Field(3, ge=1, le=20, description="How many times an emergency package is played.")
    emergency_interval_min: int = Field(15, ge=1, le=240, description="Minutes between the plays of an emergency "
                                        "package.")
    emergency_valid_h: float = Field(6.0, gt=0, le=72, description="How long an emergency package stays valid, hours "
                                     "(no play is scheduled after that).")
    alert_valid_h: float = Field(12.0, gt=0, le=72, description="How long a priority (ưu tiên) or normal package of "
                                 "an alert (lower levels, the all-clear) stays valid, hours.")
    bulletin_valid_h: float = Field(24.0, gt=0, le=168, description="How long a bulletin's package stays valid, "
                                    "hours.")
    play_times_local: list[LocalTime] = Field(default_factory=lambda: ["06:00", "11:00", "17:00"], min_length=1,
                                        max_length=12, description="Local times (HH:MM) of the commune's radio "
                                        "programme: normal and priority packages are scheduled at those within their "
                                        "validity.")
    sample_rate_hz: Literal[22050, 44100] = Field(44100, description="Sample rate of the MP3 (mono).")
    bitrate_kbps: int = Field(64, ge=32, le=128, description="MP3 bit rate, kbit/s.")
    speech_rate_wpm: int = Field(140, ge=80, le=260, description="Speaking rate of the synthesised voice, words per "
                                 "minute.")
    max_text_chars: int = Field(8000, ge=200, le=20_000, description="Longest text a package reads, characters "
                                "(about seven minutes of speech at 8000).")
    max_package_bytes: int = Field(20 * 1024 * 1024, ge=64 * 1024, le=200 * 1024 * 1024, description="Largest "
                                   "package (audio and document), bytes; a larger one fails without being sent.")
    audio_keep_days: int = Field(30, ge=1, le=365, description="Days the MP3 made for a package is kept in "
                                 "`<data_dir>/loudspeaker/` (retries reuse it).")

    @field_validator("play_times_local")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a time is listed twice")
        return sorted(v)


class LoudspeakerChannel(StrictModel):
    """Packages for the smart loudspeaker system: POSTed to the source system's HTTP endpoint (multipart/form-data:
    a `metadata` JSON part and an `audio` MP3 part), or written to a drop folder the vendor's software watches."""

    type: Literal["loudspeaker"] = Field(description="Channel type.")
    mode: Literal["http", "folder"] = Field("http", description="`http`: POST to `url`; `folder`: write "
                                            "`<folder>/<package id>/` and its `.ready` marker.")
    url: str | None = Field(None, pattern=r"^https?://", description="Endpoint the packages are POSTed to (mode "
                            "http).")
    token_env: str | None = Field("TICHWATCH_LOUDSPEAKER_TOKEN", description="Environment variable holding the "
                                  "endpoint's token, sent as `Authorization: Bearer <token>` (mode http); none: no "
                                  "authorization header.")
    folder: Path | None = Field(None, description="Drop folder (mode folder); it must exist and be writable.")
    timeout_s: float = Field(60.0, gt=0, le=600, description="Time limit of one send, seconds: making the MP3 (first "
                             "attempt only) and the upload or the write.")

    @model_validator(mode="after")
    def _target(self) -> LoudspeakerChannel:
        if self.mode == "http" and not self.url:
            raise ValueError("mode http needs `url`")
        if self.mode == "folder" and self.folder is None:
            raise ValueError("mode folder needs `folder`")
        return self
