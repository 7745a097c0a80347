"""JPEG header inspection without decoding: reject non-JPEG bytes, corrupt or unsupported headers and absurd
dimensions before a single pixel is touched.

`read_jpeg_header` walks the marker segments up to the frame header (SOF), so a hostile 65,535 × 65,535 header costs a
few microseconds and no memory. The same checks serve the ingest contract (frames dead-lettered with these reasons)
and the dust detector's decoder.
"""
from __future__ import annotations

from typing import NamedTuple

DEFAULT_MAX_SIDE_PX = 8192
"""Largest width or height accepted when the caller passes no limit (ingest passes its configured limits)."""

_SUPPORTED_SOF = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
_OTHER_SOF = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length field
_EOI_SEARCH_BYTES = 1024  # some encoders pad after the end-of-image marker; look this far back for it


class JpegError(ValueError):
    """Bytes that are not a usable JPEG; `reason` is a short code for counters and the dead-letter topic."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(detail)


class JpegSize(NamedTuple):
    """Width and height in pixels as announced by the JPEG frame header."""

    width: int
    height: int


def read_jpeg_header(data: bytes, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                     max_height_px: int = DEFAULT_MAX_SIDE_PX) -> JpegSize:
    """Parse the JPEG marker segments up to the frame header and return its size, without decoding; raise JpegError."""
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        raise JpegError("not_jpeg", "payload does not start with the JPEG start-of-image marker FFD8")
    i = 2
    while True:
        if i >= n:
            raise JpegError("truncated_jpeg", f"data ends after {n} bytes, before a frame header")
        if data[i] != 0xFF:
            raise JpegError("bad_jpeg_header", f"expected a marker at byte {i}")
        while i < n and data[i] == 0xFF:  # fill bytes may precede a marker
            i += 1
        if i >= n:
            raise JpegError("truncated_jpeg", "data ends inside a marker")
        marker = data[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):
            raise JpegError("bad_jpeg_header", "end of image or scan data before a frame header (SOF)")
        if i + 2 > n:
            raise JpegError("truncated_jpeg", f"segment length of marker 0x{marker:02X} cut off")
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            raise JpegError("bad_jpeg_header", f"segment of marker 0x{marker:02X} has impossible length {length}")
        if i + length > n:
            raise JpegError("truncated_jpeg", f"segment of marker 0x{marker:02X} cut off")
        if marker in _SUPPORTED_SOF:
            return _frame_size(data, i, length, max_width_px, max_height_px)
        if marker in _OTHER_SOF:
            raise JpegError("unsupported_jpeg", f"JPEG coding process 0x{marker:02X} (lossless, hierarchical or "
                                                "arithmetic)")
        i += length


def _frame_size(data: bytes, i: int, length: int, max_width_px: int, max_height_px: int) -> JpegSize:
    """Check a frame header segment starting at its length field and return the announced size."""
    if length < 8:
        raise JpegError("bad_jpeg_header", "frame header too short")
    precision = data[i + 2]
    height = (data[i + 3] << 8) | data[i + 4]
    width = (data[i + 5] << 8) | data[i + 6]
    components = data[i + 7]
    if precision != 8:
        raise JpegError("unsupported_jpeg", f"{precision}-bit samples (only 8-bit is decoded)")
    if components not in (1, 3, 4):
        raise JpegError("unsupported_jpeg", f"{components} colour components")
    if width == 0 or height == 0:
        raise JpegError("unsupported_jpeg", f"frame size {width}x{height} (size defined later in the stream)")
    if width > max_width_px or height > max_height_px:
        raise JpegError("dimensions_too_large", f"frame announces {width}x{height} pixels, limit is "
                                                f"{max_width_px}x{max_height_px}")
    return JpegSize(width, height)


def check_jpeg(data: bytes, max_width_px: int, max_height_px: int) -> JpegSize:
    """The size of a JPEG whose header fits the limits and whose data ends with an end-of-image marker; raise
    JpegError otherwise (the checks a frame passes before anyone decodes it)."""
    size = read_jpeg_header(data, max_width_px, max_height_px)
    if data.rfind(b"\xff\xd9", max(0, len(data) - _EOI_SEARCH_BYTES)) < 0:
        raise JpegError("truncated_jpeg", "no end-of-image marker: the frame was cut off")
    return size
