"""JPEG frames decoded safely and in bounded memory.

The checks of `tichwatch.ingest.jpeg` come first (no pixel touched for a hostile header, an unusable frame shape or a
frame of thousands of scans). The
decode then works at the coarsest JPEG DCT scale that still covers the size the analysis needs, and that size is
decided from both sides (the frame fitted in a square), so no aspect ratio can make an image larger than the square.
Decoding is strict: libjpeg's recoverable errors ("Corrupt JPEG data: …", "Premature end of JPEG file", a header
whose size does not match the scan data) reject the frame instead of handing the analysis a picture with made-up
rows. OpenCV's `imdecode` prints those warnings and carries on, so the decoder is libjpeg-turbo through simplejpeg,
whose strict mode turns them into errors; at the same scale it gives the same pixels as OpenCV.
"""
from __future__ import annotations

import cv2
import numpy as np
import simplejpeg

from tichwatch.ingest.jpeg import DEFAULT_MAX_SIDE_PX, JpegError, JpegSize, check_jpeg, check_scan_count

_FACTORS = (8, 4, 2)  # the DCT scalings every libjpeg offers, coarsest first (1 = full size)
_PREMATURE_END = "Premature end"  # libjpeg's message when the data stops before the image is complete
_MAX_DETAIL = 200


def fit_size(size: JpegSize, box_px: int) -> JpegSize:
    """The size of a frame scaled so that its long side is `box_px` (aspect kept, each side at least 1 pixel)."""
    long = max(size)
    return JpegSize(max(1, round(size.width * box_px / long)), max(1, round(size.height * box_px / long)))


def reduction_factor(size: JpegSize, target: JpegSize) -> int:
    """The largest JPEG DCT scaling divisor (1, 2, 4 or 8) that still leaves at least `target` on both sides."""
    for factor in _FACTORS:
        if -(-size.width // factor) >= target.width and -(-size.height // factor) >= target.height:
            return factor
    return 1


def decode_reduced(data: bytes, box_px: int, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                   max_height_px: int = DEFAULT_MAX_SIDE_PX) -> tuple[np.ndarray, JpegSize]:
    """Decode a JPEG to BGR uint8 at the coarsest DCT scale that still covers the frame fitted in a `box_px` square;
    raise JpegError (header, shape, too many scans, truncated or corrupt data)."""
    size = check_jpeg(data, max_width_px, max_height_px)
    check_scan_count(data)
    factor = reduction_factor(size, fit_size(size, box_px))
    expected = JpegSize(-(-size.width // factor), -(-size.height // factor))
    try:
        # simplejpeg picks the smallest libjpeg-turbo scale (1/8 … 1) giving at least these sizes: exactly 1/factor
        image = simplejpeg.decode_jpeg(data, colorspace="BGR", min_width=expected.width,
                                       min_height=expected.height, strict=True)
    except ValueError as exc:
        message = str(exc)[:_MAX_DETAIL]
        raise JpegError("truncated_jpeg" if message.startswith(_PREMATURE_END) else "corrupt_jpeg",
                        f"the decoder refused the image data: {message}") from None
    if image.shape[:2] != (expected.height, expected.width):
        raise JpegError("corrupt_jpeg", f"decoded {image.shape[1]}x{image.shape[0]}, header announced "
                                        f"{size.width}x{size.height} at 1/{factor}")
    return image, size


def analysis_image(data: bytes, box_px: int, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                   max_height_px: int = DEFAULT_MAX_SIDE_PX) -> tuple[np.ndarray, JpegSize]:
    """Decode a JPEG to a float32 BGR image whose long side is `box_px` (aspect kept), the size every analysis works
    at: a landscape frame is `box_px` wide."""
    image, size = decode_reduced(data, box_px, max_width_px, max_height_px)
    width, height = fit_size(size, box_px)
    if image.shape[1] != width or image.shape[0] != height:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image.astype(np.float32), size
