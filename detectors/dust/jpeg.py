"""JPEG frames read safely: header checks without decoding, then a reduced-resolution decode.

A frame is untrusted input. `read_jpeg_header` walks the marker segments up to the frame header (SOF) and rejects
non-JPEG bytes, truncated or corrupt headers, unsupported coding processes and absurd dimensions before a single pixel
is decoded, so a hostile 65,535 × 65,535 header costs a few microseconds and no memory.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from ingest.jpeg import JpegError  # one error type for frames, so the pipeline dead-letters them

DEFAULT_MAX_SIDE_PX = 8192
"""Largest width or height accepted when the caller passes no limit (the ingest layer passes its configured limits)."""

_SUPPORTED_SOF = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
_OTHER_SOF = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length field
_EOI_SEARCH_BYTES = 1024  # some encoders pad after the end-of-image marker; look this far back for it
_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}


class JpegSize(NamedTuple):
    """Width and height in pixels as announced by the JPEG frame header."""

    width: int
    height: int


def read_jpeg_header(data: bytes, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                     max_height_px: int = DEFAULT_MAX_SIDE_PX) -> JpegSize:
    """Parse the JPEG marker segments up to the frame header and return its size, without decoding; raise JpegError."""
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        raise JpegError("not_jpeg", "missing the JPEG start-of-image marker")
    i = 2
    while True:
        if i >= n:
            raise JpegError("truncated_header", f"data ends after {n} bytes before a frame header")
        if data[i] != 0xFF:
            raise JpegError("corrupt_header", f"expected a marker at byte {i}")
        while i < n and data[i] == 0xFF:  # fill bytes may precede a marker
            i += 1
        if i >= n:
            raise JpegError("truncated_header", "data ends inside a marker")
        marker = data[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker == 0xD9:
            raise JpegError("corrupt_header", "end-of-image before a frame header")
        if marker == 0xDA:
            raise JpegError("corrupt_header", "scan data before a frame header")
        if i + 2 > n:
            raise JpegError("truncated_header", f"segment length of marker 0x{marker:02X} cut off")
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            raise JpegError("corrupt_header", f"segment of marker 0x{marker:02X} has impossible length {length}")
        if i + length > n:
            raise JpegError("truncated_header", f"segment of marker 0x{marker:02X} cut off")
        if marker in _SUPPORTED_SOF:
            return _frame_size(data, i, length, max_width_px, max_height_px)
        if marker in _OTHER_SOF:
            raise JpegError("unsupported", f"JPEG coding process 0x{marker:02X} (lossless, hierarchical or arithmetic)")
        i += length


def _frame_size(data: bytes, i: int, length: int, max_width_px: int, max_height_px: int) -> JpegSize:
    """Check a frame header segment starting at its length field and return the announced size."""
    if length < 8:
        raise JpegError("corrupt_header", "frame header too short")
    precision = data[i + 2]
    height = (data[i + 3] << 8) | data[i + 4]
    width = (data[i + 5] << 8) | data[i + 6]
    components = data[i + 7]
    if precision != 8:
        raise JpegError("unsupported", f"{precision}-bit samples (only 8-bit is decoded)")
    if components not in (1, 3, 4):
        raise JpegError("unsupported", f"{components} colour components")
    if width == 0 or height == 0:
        raise JpegError("unsupported", f"frame size {width}x{height} (size defined later in the stream)")
    if width > max_width_px or height > max_height_px:
        raise JpegError("too_large", f"{width}x{height} pixels exceeds the limit {max_width_px}x{max_height_px}")
    return JpegSize(width, height)


def reduction_factor(width_px: int, target_width_px: int) -> int:
    """The largest JPEG DCT scaling divisor (1, 2, 4 or 8) that still leaves at least `target_width_px` columns."""
    for factor in (8, 4, 2):
        if -(-width_px // factor) >= target_width_px:
            return factor
    return 1


def decode_reduced(data: bytes, target_width_px: int, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                   max_height_px: int = DEFAULT_MAX_SIDE_PX) -> tuple[np.ndarray, JpegSize]:
    """Decode a JPEG to BGR at the coarsest DCT scale that still covers `target_width_px`; raise JpegError."""
    size = read_jpeg_header(data, max_width_px, max_height_px)
    if data.rfind(b"\xff\xd9", max(0, len(data) - _EOI_SEARCH_BYTES)) < 0:
        raise JpegError("truncated_body", "no end-of-image marker: the frame was cut off")
    factor = reduction_factor(size.width, target_width_px)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED_FLAGS[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise JpegError("corrupt_body", "the decoder could not read the image data")
    expected = (-(-size.height // factor), -(-size.width // factor))
    if image.shape[:2] != expected:
        raise JpegError("corrupt_body", f"decoded {image.shape[1]}x{image.shape[0]}, header announced "
                                        f"{size.width}x{size.height} at 1/{factor}")
    return image, size


def analysis_image(data: bytes, width_px: int, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                   max_height_px: int = DEFAULT_MAX_SIDE_PX) -> tuple[np.ndarray, JpegSize]:
    """Decode a JPEG to a float32 BGR image `width_px` wide (aspect kept), the size every analysis works at."""
    image, size = decode_reduced(data, width_px, max_width_px, max_height_px)
    height = max(1, round(size.height * width_px / size.width))
    if image.shape[1] != width_px or image.shape[0] != height:
        image = cv2.resize(image, (width_px, height), interpolation=cv2.INTER_AREA)
    return image.astype(np.float32), size
