"""JPEG frames decoded safely: the header checks of `ingest.jpeg` first (no pixel touched for a hostile header),
then a reduced-resolution decode at the scale the analysis needs."""
from __future__ import annotations

import cv2
import numpy as np

from ingest.jpeg import DEFAULT_MAX_SIDE_PX, JpegError, JpegSize, check_jpeg

_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                  8: cv2.IMREAD_REDUCED_COLOR_8}


def reduction_factor(width_px: int, target_width_px: int) -> int:
    """The largest JPEG DCT scaling divisor (1, 2, 4 or 8) that still leaves at least `target_width_px` columns."""
    for factor in (8, 4, 2):
        if -(-width_px // factor) >= target_width_px:
            return factor
    return 1


def decode_reduced(data: bytes, target_width_px: int, max_width_px: int = DEFAULT_MAX_SIDE_PX,
                   max_height_px: int = DEFAULT_MAX_SIDE_PX) -> tuple[np.ndarray, JpegSize]:
    """Decode a JPEG to BGR at the coarsest DCT scale that still covers `target_width_px`; raise JpegError."""
    size = check_jpeg(data, max_width_px, max_height_px)
    factor = reduction_factor(size.width, target_width_px)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED_FLAGS[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise JpegError("corrupt_jpeg", "the decoder could not read the image data")
    expected = (-(-size.height // factor), -(-size.width // factor))
    if image.shape[:2] != expected:
        raise JpegError("corrupt_jpeg", f"decoded {image.shape[1]}x{image.shape[0]}, header announced "
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
