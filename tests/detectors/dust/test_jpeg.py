"""Safe frame handling: header checks without decoding, reduced decode, rejected bytes with a reason."""
from __future__ import annotations

import contextlib
import struct
import tracemalloc

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tichwatch.detectors.dust.jpeg import analysis_image, decode_reduced, fit_size, reduction_factor
from tichwatch.ingest.jpeg import JpegError, JpegSize, read_jpeg_header


def encode(width: int, height: int, progressive: bool = False) -> bytes:
    """A real JPEG of a textured test picture."""
    rng = np.random.default_rng(1)
    img = cv2.resize(rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8), (width, height))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])
    assert ok
    return buf.tobytes()


def announcing(width: int, height: int) -> bytes:
    """Start of a JPEG whose frame header announces a size; no image data behind it."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes([1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + bytes(9) + sof + b"\xff\xda" + bytes(64)


def test_reads_size_of_baseline_and_progressive_without_decoding() -> None:
    assert read_jpeg_header(encode(1280, 720)) == (1280, 720)
    assert read_jpeg_header(encode(640, 480, progressive=True)) == (640, 480)


@pytest.mark.parametrize("data, reason", [
    (b"", "not_jpeg"),
    (b"\x89PNG\r\n\x1a\n" + bytes(32), "not_jpeg"),
    (b"GIF89a" + bytes(32), "not_jpeg"),
    (b"hello, this is not an image", "not_jpeg"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated_jpeg"),
    (b"\xff\xd8\xff\xd9", "bad_jpeg_header"),
    (b"\xff\xd8\x00\x00\x00\x00", "bad_jpeg_header"),
    (b"\xff\xd8\xff\xc3\x00\x0b\x08\x00\x10\x00\x10\x01\x01\x11\x00", "unsupported_jpeg"),
])
def test_rejects_bad_headers_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(JpegError) as err:
        read_jpeg_header(data)
    assert err.value.reason == reason
    assert isinstance(err.value, ValueError) and str(err.value)


def test_absurd_sizes_are_rejected_before_any_decode_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # 16-bit fields cap what a JPEG can announce at 65,535 × 65,535 (4.3 gigapixels, ~13 GB decoded); a PNG could
    # announce 100,000 × 100,000 but is not a JPEG at all.
    def no_decode(*_: object) -> None:
        raise AssertionError("cv2.imdecode must not be reached")

    monkeypatch.setattr(cv2, "imdecode", no_decode)  # the module tichwatch.detectors.dust.jpeg decodes with
    png_100k = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 100_000, 100_000) + bytes(5)
    tracemalloc.start()
    try:
        for data, reason in [(announcing(65535, 65535), "dimensions_too_large"),
                             (announcing(20000, 20000), "dimensions_too_large"), (png_100k, "not_jpeg")]:
            with pytest.raises(JpegError) as err:
                decode_reduced(data, 320)
            assert err.value.reason == reason
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024


def test_configured_limits_apply() -> None:
    with pytest.raises(JpegError) as exc:
        read_jpeg_header(encode(640, 480), max_width_px=320, max_height_px=4096)
    assert exc.value.reason == "dimensions_too_large"


def test_truncated_body_is_rejected() -> None:
    data = encode(640, 480)
    with pytest.raises(JpegError) as err:
        decode_reduced(data[: len(data) // 2], 320)
    assert err.value.reason == "truncated_jpeg"


def test_corrupt_body_is_rejected() -> None:
    data = bytearray(encode(640, 480))
    dht = data.find(b"\xff\xc4")
    data[dht + 4: dht + 40] = bytes(36)  # Huffman tables destroyed: the decoder gives up
    with pytest.raises(JpegError) as err:
        decode_reduced(bytes(data), 320)
    assert err.value.reason == "corrupt_jpeg"


@pytest.mark.parametrize("size, box, factor", [((1280, 720), 320, 4), ((1920, 1080), 320, 4), ((640, 480), 320, 2),
                                               ((320, 240), 320, 1), ((4096, 3072), 320, 8), ((300, 200), 320, 1),
                                               ((720, 1280), 320, 4), ((4096, 1024), 320, 8), ((1024, 4096), 320, 8),
                                               ((4000, 1000), 320, 8), ((1000, 1000), 320, 2), ((1080, 1920), 320, 4)])
def test_reduction_factor_covers_the_frame_fitted_in_the_box(size: tuple[int, int], box: int, factor: int) -> None:
    target = fit_size(JpegSize(*size), box)
    assert max(target) == box
    assert reduction_factor(JpegSize(*size), target) == factor


def test_large_frames_are_decoded_at_reduced_scale_and_resized() -> None:
    image, size = decode_reduced(encode(1280, 720), 320)
    assert size == (1280, 720) and image.shape == (180, 320, 3)
    analysed, _ = analysis_image(encode(1920, 1080), 320)
    assert analysed.shape == (180, 320, 3) and analysed.dtype == np.float32


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    with contextlib.suppress(JpegError):
        read_jpeg_header(data)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=30_000), st.integers(min_value=0, max_value=255))
def test_damaged_frames_decode_or_are_rejected(cut: int, flip: int) -> None:
    data = bytearray(encode(320, 240))
    data = data[: max(cut, 2)] if cut < len(data) else data
    if flip and len(data) > 600 + flip:
        data[600 + flip] ^= 0xFF
    try:
        image, _ = decode_reduced(bytes(data), 160)
        assert image.shape == (120, 160, 3)
    except JpegError as err:
        assert err.reason in {"not_jpeg", "truncated_jpeg", "bad_jpeg_header", "unsupported_jpeg", "corrupt_jpeg"}
