"""JPEG header inspection without decoding: reject non-JPEG bytes and absurd dimensions before any pixel is touched."""
from __future__ import annotations

SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
"""Start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the image size."""

_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length field


class JpegError(ValueError):
    """Bytes that are not a usable JPEG; `reason` is a short code for counters and the dead-letter topic."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(detail)


def jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """Return (width, height) from the first start-of-frame segment; raise JpegError when there is none."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        raise JpegError("not_jpeg", "payload does not start with the JPEG SOI marker FFD8")
    i = 2
    n = len(data)
    while i < n:
        if data[i] != 0xFF:
            raise JpegError("bad_jpeg_header", f"expected a marker at byte {i}")
        while i < n and data[i] == 0xFF:  # fill bytes before a marker are allowed
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # EOI or start of scan before any frame header
            raise JpegError("bad_jpeg_header", "no frame header (SOF) before the image data")
        if i + 2 > n:
            break
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            raise JpegError("bad_jpeg_header", f"segment length {length} at byte {i} is invalid")
        if marker in SOF_MARKERS:
            if i + 7 > n:
                break
            height = (data[i + 3] << 8) | data[i + 4]
            width = (data[i + 5] << 8) | data[i + 6]
            if width == 0 or height == 0:
                raise JpegError("bad_jpeg_header", f"frame header announces {width}x{height} pixels")
            return width, height
        i += length
    raise JpegError("truncated_jpeg", "JPEG ends before its frame header")


def check_jpeg(data: bytes, max_width: int, max_height: int) -> tuple[int, int]:
    """Return (width, height) of a JPEG whose header fits the limits; raise JpegError otherwise."""
    width, height = jpeg_dimensions(data)
    if width > max_width or height > max_height:
        raise JpegError(
            "dimensions_too_large", f"frame announces {width}x{height} pixels, limit is {max_width}x{max_height}"
        )
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise JpegError("truncated_jpeg", "JPEG has no end-of-image marker (truncated)")
    return width, height
