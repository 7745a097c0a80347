"""JPEG header inspection without decoding: reject non-JPEG bytes, corrupt or unsupported headers, absurd dimensions
and frame shapes no analysis can use before a single pixel is touched.

`read_jpeg_header` walks the marker segments up to the frame header (SOF), so a hostile 65,535 × 65,535 header costs a
few microseconds and no memory. The same checks serve the ingest contract (frames dead-lettered with these reasons)
and the dust detector's decoder, which then decodes strictly (corrupt scan data is rejected there, see
`tichwatch.detectors.dust.jpeg`).
"""
from __future__ import annotations

from typing import NamedTuple

DEFAULT_MAX_SIDE_PX = 8192
"""Largest width or height accepted when the caller passes no limit (ingest passes its configured limits)."""
MIN_SIDE_PX = 16
"""Smallest width or height of a frame: a side shorter than one 16-pixel JPEG macroblock is no camera picture, and
below it the dust grid (16 × 12 cells) would have cells smaller than a pixel."""
MAX_ASPECT_RATIO = 4.0
"""Largest ratio of a frame's long side to its short side. Cameras send 4:3 to 32:9 (3.6:1); beyond 4:1 the short
side of the analysis image (320 px on the long side) holds fewer pixels than the detector's 64 × 48 sub-blocks, and
a 1 × 4096 strip is only a way to make the analysis image huge."""
MAX_SCANS = 100
"""Most scans a frame may have. Baseline frames have one (one per component at most), progressive ones about ten;
each scan makes the decoder pass over every block of the frame again (about 10 ms a scan at 4096 × 4096), so the
thousands of tiny progressive scans the JPEG standard allows would keep a frame worker busy for tens of seconds."""

_SUPPORTED_SOF = {0xC0: "baseline", 0xC1: "extended sequential", 0xC2: "progressive"}
_OTHER_SOF = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length field
_EOI = b"\xff\xd9"
_SOS = b"\xff\xda"


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
    return _frame_header(data, max_width_px, max_height_px)[0]


def _frame_header(data: bytes, max_width_px: int, max_height_px: int) -> tuple[JpegSize, int]:
    """The announced size and the offset just past the frame header segment; raise JpegError."""
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
            return _frame_size(data, i, length, max_width_px, max_height_px), i + length
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


def check_frame_shape(size: JpegSize) -> None:
    """Raise JpegError when a frame is too small or too elongated for any analysis (see MIN_SIDE_PX and
    MAX_ASPECT_RATIO): such a frame is refused, never decoded."""
    short, long = sorted(size)
    if short < MIN_SIDE_PX:
        raise JpegError("dimensions_too_small", f"frame of {size.width}x{size.height} pixels: a side is below "
                                                f"{MIN_SIDE_PX} pixels")
    if long > MAX_ASPECT_RATIO * short:
        raise JpegError("aspect_ratio_too_large", f"frame of {size.width}x{size.height} pixels is more elongated "
                                                  f"than {MAX_ASPECT_RATIO:g}:1")


def check_jpeg(data: bytes, max_width_px: int, max_height_px: int) -> JpegSize:
    """The size of a JPEG whose header fits the limits, whose shape can be analysed and whose data holds an
    end-of-image marker after the frame header; raise JpegError otherwise (the checks a frame passes on arrival,
    before anyone decodes it). Bytes after the end-of-image marker are allowed: cameras append metadata or padding."""
    size, end = _frame_header(data, max_width_px, max_height_px)
    check_frame_shape(size)
    # Inside scan data a 0xFF byte is always followed by 0x00 or a marker, so FFD9 past the frame header is the end
    # of image (or a marker in bytes appended after it); an EXIF thumbnail's own end marker lies before the frame
    # header. Searched from the end: a frame that ends with its marker costs nothing, a cut one a pass in C.
    if data.rfind(_EOI, end) < 0:
        raise JpegError("truncated_jpeg", "no end-of-image marker: the frame was cut off")
    return size


def check_scan_count(data: bytes) -> None:
    """Raise JpegError when a JPEG holds more than MAX_SCANS scans (a check for the frame worker, before decoding).

    Counts every FFDA (scan header) marker: one in an EXIF thumbnail or a JPEG appended after the frame counts too,
    far below the limit, and no segment can hide a scan header from it. A pass in C over the data, about as costly
    as copying it, so it runs in the worker rather than on the MQTT thread.
    """
    scans = data.count(_SOS)
    if scans > MAX_SCANS:
        raise JpegError("unsupported_jpeg", f"{scans} scans (at most {MAX_SCANS} are decoded)")
