"""What decoding a payload yields: accepted readings beside rejections, and the one list of rejection reason codes.

A reason code is a metric label (`tichwatch_rejections_total{reason=…}`) and the `reason` of a dead-letter report, so
the set is closed: every code the service can produce is a key of REASONS, and a test keeps the README's table equal
to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tichwatch.core.samples import Reading

REASONS: dict[str, str] = {
    "bad_topic": "the topic is not one of the contract's topics",
    "undecodable": "a message the decoder or the gateway signature check failed on with an error (a bug; named in "
                   "the detail): refused so that nothing else waits for it",
    "unprocessable": "a message whose readings cannot be stored even on their own after a pipeline error",
    "unknown_station": "the station (or rain gauge) id in the topic is not configured",
    "unknown_camera": "the camera id in the topic is not configured",
    "too_large": "payload over its size limit (limits.max_reading_payload_bytes, limits.max_frame_bytes)",
    "too_many_items": "a JSON array or SenML pack with more items than limits.max_batch_readings",
    "not_json": "not UTF-8 JSON, or text after the JSON value",
    "bad_shape": "not a JSON object nor a non-empty JSON array of objects",
    "bad_senml": "SenML that breaks RFC 8428 (a field of the wrong type, no or several value fields, a name outside "
                 "the RFC's characters, bver not a positive integer or differing between records), has no level "
                 "(rain) record, or a unit other than m (level), mm (rain) or V (battery)",
    "unsupported_senml": "SenML a receiver must not use: bver above 10 or a must-understand label (ending in _)",
    "missing_field": "ts or level_m (rain_mm from a rain gauge) is missing",
    "not_numeric": "a field of the wrong type: a number sent as a string or boolean, seq not an integer, a SenML "
                   "level or battery sent as vs, vb or vd",
    "not_finite": "NaN or Infinity",
    "bad_number": "a number no 64-bit float holds (1e400, an integer of more than 309 digits), or a SenML base and "
                  "value (bv + v, bt + t) whose sum overflows",
    "out_of_range": "level_m outside the station's possible range (min_level_m…max_level_m), rain_mm outside "
                    "0…the gauge's max_rain_mm, interval_s outside 1–86400 s, battery_v outside 0–100 V, seq outside "
                    "0…2^63−1",
    "bad_timestamp": "a time that is neither RFC 3339 with an offset nor epoch seconds, or epoch seconds of 1e11 "
                     "and more (milliseconds) — in JSON, SenML and a frame's ts property alike",
    "future_timestamp": "a time more than limits.max_future_s ahead of the service clock",
    "too_old": "a time more than limits.max_age_s before the service clock (back to any year, 0001 included)",
    "missing_signature": "gateway_auth asks for a signature and the message has none",
    "bad_signature": "a signature made with the wrong key, topic or bytes, or malformed sig_ts/nonce",
    "stale_signature": "the signature time is more than gateway_auth.clock_window_s ahead of the service clock, or "
                       "older than gateway_auth.signature_max_age_s",
    "replayed": "the signature's nonce was already accepted from this gateway (kept in the data directory, so also "
                "before a restart)",
    "not_jpeg": "a frame that does not start with the JPEG start-of-image marker",
    "bad_jpeg_header": "a frame with corrupt JPEG marker segments",
    "truncated_jpeg": "a frame cut off: no frame header, no end-of-image marker, or image data ending early",
    "unsupported_jpeg": "a JPEG coding the decoder does not take (lossless, arithmetic, 12-bit, size given later) "
                        "or more than 100 scans",
    "dimensions_too_large": "a frame header announcing more than limits.max_frame_width_px × max_frame_height_px",
    "dimensions_too_small": "a frame with a side below tichwatch.ingest.jpeg.MIN_SIDE_PX (16) pixels",
    "aspect_ratio_too_large": "a frame more elongated than tichwatch.ingest.jpeg.MAX_ASPECT_RATIO (4:1)",
    "corrupt_jpeg": "a frame whose header passed but whose image data is damaged (libjpeg's corrupt-data warnings "
                    "count; from the dust detector)",
}
"""Every rejection reason code the service can produce, with its meaning in one line."""


@dataclass(frozen=True)
class Rejection:
    """Why a payload (or one item of a batch) was not accepted; `reason` is a key of REASONS."""

    reason: str
    detail: str
    item: int | None = None  # index within a batch payload, when the rejection concerns one item


@dataclass
class Decoded:
    """What a reading payload yielded: the accepted readings and the rejected items."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class Invalid(Exception):
    """One value or item failed validation with this reason code (a key of REASONS) and a detail for people."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(detail)

    def rejection(self, item: int | None = None) -> Rejection:
        """This failure as a Rejection of the given batch item."""
        return Rejection(self.reason, self.detail, item)
