"""Frames are decoded strictly and at a size bounded by both sides.

Every encoding a camera or a tool produces decodes to the pixels OpenCV gives at the same scale (so judging valid
frames is unchanged); data OpenCV only warns about (corrupt scan data, headers that lie about the size, cut frames)
is rejected with a reason; bytes after the end-of-image marker are accepted; shapes no analysis can use are refused
before any decoding.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import simplejpeg

from bench.frame_memory import announce, cut_in_half, cv2_jpeg, pil_jpeg, texture_bgr
from tests.detectors.dust.conftest import SHARED_DATA
from tichwatch.detectors.dust.jpeg import analysis_image, decode_reduced
from tichwatch.ingest.jpeg import MAX_SCANS, JpegError, check_jpeg, check_scan_count

PICTURE = texture_bgr(640, 480)
CV2_SCALE = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
             8: cv2.IMREAD_REDUCED_COLOR_8}
ENCODINGS: dict[str, Callable[[], bytes]] = {
    "baseline 4:2:0": lambda: cv2_jpeg(PICTURE),
    "baseline 4:4:4": lambda: cv2_jpeg(PICTURE, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444),
    "baseline 4:2:2": lambda: cv2_jpeg(PICTURE, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422),
    "baseline 4:1:1": lambda: cv2_jpeg(PICTURE, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411),
    "baseline 4:4:0": lambda: cv2_jpeg(PICTURE, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440),
    "baseline restart markers": lambda: cv2_jpeg(PICTURE, restart_interval=2),
    "progressive 4:2:0": lambda: cv2_jpeg(PICTURE, progressive=True),
    "progressive 4:4:4": lambda: cv2_jpeg(PICTURE, progressive=True, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444),
    "grayscale": lambda: pil_jpeg(PICTURE, "L"),
    "grayscale progressive": lambda: pil_jpeg(PICTURE, "L", progressive=True),
    "CMYK (Adobe)": lambda: pil_jpeg(PICTURE, "CMYK"),
    "CMYK progressive": lambda: pil_jpeg(PICTURE, "CMYK", progressive=True),
}


def cv2_decode(data: bytes, factor: int) -> np.ndarray:
    """What OpenCV's lenient decoder gives at a DCT scale (the decoder the detector used before)."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), CV2_SCALE[factor] | cv2.IMREAD_IGNORE_ORIENTATION)


def scan_middle(data: bytes) -> int:
    """An offset halfway through the entropy-coded data after the first scan header."""
    sos = data.find(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    return (start + len(data)) // 2


@pytest.fixture
def no_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoder fails the test if reached: what is refused must be refused from the header."""
    def no_decode(*_: object, **__: object) -> None:
        raise AssertionError("the decoder must not be reached")

    monkeypatch.setattr(simplejpeg, "decode_jpeg", no_decode)  # the module tichwatch.detectors.dust.jpeg decodes with


@pytest.mark.parametrize("name", ENCODINGS)
def test_every_encoding_decodes_to_the_pixels_opencv_gives(name: str) -> None:
    data = ENCODINGS[name]()
    for box, factor in [(640, 1), (320, 2), (160, 4), (80, 8)]:
        image, size = decode_reduced(data, box)
        assert size == (640, 480)
        assert image.shape == (480 // factor, 640 // factor, 3) and image.dtype == np.uint8
        assert np.array_equal(image, cv2_decode(data, factor)), f"{name} at 1/{factor}"


def test_the_analysis_image_of_a_landscape_frame_is_what_it_was() -> None:
    data = cv2_jpeg(texture_bgr(1280, 720))
    before = cv2.resize(cv2_decode(data, 4), (320, 180), interpolation=cv2.INTER_AREA).astype(np.float32)
    image, _ = analysis_image(data, 320)
    assert np.array_equal(image, before)


def corruptions() -> dict[str, Callable[[bytes], bytes]]:
    """Damage that leaves the headers intact: only a decoder that counts libjpeg's warnings as errors notices."""
    def repeat(d: bytes) -> bytes:
        mid = scan_middle(d)
        return d[:mid] + d[mid - 400:mid] + d[mid:]

    return {
        "cut in half, end marker put back": cut_in_half,
        "scan data repeated": repeat,
        "scan data dropped": lambda d: d[:scan_middle(d)] + d[scan_middle(d) + 300:],
        "end marker inside the scan": lambda d: d[:scan_middle(d)] + b"\xff\xd9" + d[scan_middle(d) + 2:],
        "header taller than the data": lambda d: announce(d, 640, 960),
        "header shorter than the data": lambda d: announce(d, 640, 240),
        "header wider than the data": lambda d: announce(d, 656, 480),
        "header narrower than the data": lambda d: announce(d, 624, 480),
    }


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
@pytest.mark.parametrize("damage", corruptions())
def test_corrupt_or_lying_data_is_rejected_not_analysed(damage: str, progressive: bool) -> None:
    data = corruptions()[damage](cv2_jpeg(PICTURE, progressive=progressive))
    check_jpeg(data, 4096, 4096)  # the headers are fine: only decoding shows the damage
    assert cv2_decode(data, 1) is not None  # OpenCV warns on stderr and returns made-up pixels
    with pytest.raises(JpegError) as err:
        analysis_image(data, 320)
    assert err.value.reason == "corrupt_jpeg" and "Corrupt JPEG data" in str(err.value)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_frame_is_rejected_exactly_when_libjpeg_warns(progressive: bool, capfd: pytest.CaptureFixture[str]) -> None:
    # Bytes flipped all along the scan: some flips still decode to a consistent (wrong but well-formed) image and
    # no decoder can tell; the others make libjpeg warn, which OpenCV prints to stderr and then ignores.
    data = cv2_jpeg(PICTURE, progressive=progressive)
    start = scan_middle(data) * 2 - len(data)
    outcomes = {"rejected": 0, "decoded": 0}
    capfd.readouterr()
    for pos in range(start, len(data) - 2, (len(data) - start) // 60):
        flipped = bytearray(data)
        flipped[pos] ^= 0x5A
        cv_image = cv2_decode(bytes(flipped), 1)
        warned = cv_image is None or "JPEG" in capfd.readouterr().err
        try:
            image, _ = decode_reduced(bytes(flipped), 640)
        except JpegError as err:
            assert warned, f"byte {pos}: rejected ({err}) although libjpeg did not warn"
            assert err.reason in {"corrupt_jpeg", "truncated_jpeg", "bad_jpeg_header"}
            outcomes["rejected"] += 1
        else:
            assert not warned, f"byte {pos}: libjpeg warned but the frame was accepted"
            assert np.array_equal(image, cv_image)
            outcomes["decoded"] += 1
    assert outcomes["rejected"] >= 10 and outcomes["decoded"] >= 1, outcomes


def exif_with_thumbnail(main: bytes) -> bytes:
    """A frame carrying an EXIF thumbnail (a whole small JPEG, end marker included) before its own frame header."""
    thumb = cv2_jpeg(texture_bgr(160, 120))
    app1 = b"Exif\x00\x00" + thumb
    return main[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + main[2:]


@pytest.mark.parametrize("tail", [b"\x00" * 3000 + b"camera padding", b"\xff" * 64,
                                  cv2_jpeg(texture_bgr(320, 240, seed=3)), bytes(1_000_000)],
                         ids=["padding", "fill bytes", "a second JPEG (MPF)", "1 MB of zeros"])
def test_bytes_after_the_end_of_image_are_accepted(tail: bytes) -> None:
    frame = cv2_jpeg(PICTURE)
    assert check_jpeg(frame + tail, 4096, 4096) == (640, 480)
    assert np.array_equal(decode_reduced(frame + tail, 320)[0], decode_reduced(frame, 320)[0])


def test_a_cut_frame_is_truncated_even_when_its_thumbnail_ends_properly() -> None:
    frame = exif_with_thumbnail(cv2_jpeg(PICTURE))
    assert check_jpeg(frame, 4096, 4096) == (640, 480)
    for cut in (frame[:len(frame) // 2], frame[:len(frame) // 2] + bytes(5000)):
        with pytest.raises(JpegError) as err:
            check_jpeg(cut, 4096, 4096)
        assert err.value.reason == "truncated_jpeg"


def test_a_cut_frame_hiding_an_end_marker_in_a_comment_is_truncated_when_decoded() -> None:
    frame = cv2_jpeg(PICTURE)
    sos = frame.find(b"\xff\xda")
    comment = b"fake end \xff\xd9"
    hidden = frame[:sos] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + frame[sos:]
    cut = hidden[:len(hidden) // 2]
    assert check_jpeg(cut, 4096, 4096) == (640, 480)  # the arrival check is fooled; the decoder is not
    with pytest.raises(JpegError) as err:
        decode_reduced(cut, 320)
    assert err.value.reason == "truncated_jpeg" and "Premature end" in str(err.value)


@pytest.mark.parametrize("width, height, reason", [
    (1, 4096, "dimensions_too_small"), (4, 4096, "dimensions_too_small"), (4096, 1, "dimensions_too_small"),
    (8, 8, "dimensions_too_small"), (16, 4096, "aspect_ratio_too_large"), (4096, 16, "aspect_ratio_too_large"),
    (4096, 1023, "aspect_ratio_too_large"), (1000, 4001, "aspect_ratio_too_large"),
])
@pytest.mark.usefixtures("no_decoder")
def test_shapes_no_analysis_can_use_are_refused_before_decoding(width: int, height: int, reason: str) -> None:
    data = cv2_jpeg(texture_bgr(width, height))
    for attempt in (lambda: check_jpeg(data, 4096, 4096), lambda: analysis_image(data, 320)):
        with pytest.raises(JpegError) as err:
            attempt()
        assert err.value.reason == reason


def with_scans(data: bytes, scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until the frame holds `scans` scans."""
    last = data.rfind(b"\xff\xda")
    return data[:-2] + data[last:-2] * (scans - data.count(b"\xff\xda")) + b"\xff\xd9"


@pytest.mark.usefixtures("no_decoder")
def test_frames_of_too_many_scans_are_refused_before_decoding() -> None:
    # each scan is another pass of the decoder over every block: thousands of them would hold a worker for long
    progressive = cv2_jpeg(PICTURE, progressive=True)
    check_scan_count(with_scans(progressive, MAX_SCANS))
    many = with_scans(progressive, MAX_SCANS + 1)
    assert check_jpeg(many, 4096, 4096) == (640, 480)  # on arrival: the count is the worker's job
    with pytest.raises(JpegError) as err:
        analysis_image(many, 320)
    assert err.value.reason == "unsupported_jpeg" and f"{MAX_SCANS + 1} scans" in str(err.value)


@pytest.mark.parametrize("width, height, analysed", [
    (4096, 1024, (320, 80)), (1024, 4096, (80, 320)), (1080, 1920, (180, 320)), (16, 16, (320, 320)),
    (64, 16, (320, 80)), (2048, 2048, (320, 320)),
])
def test_the_analysis_image_fits_a_square_whatever_the_shape(width: int, height: int,
                                                             analysed: tuple[int, int]) -> None:
    image, size = analysis_image(cv2_jpeg(texture_bgr(width, height)), 320)
    assert size == (width, height) and (image.shape[1], image.shape[0]) == analysed
    assert image.nbytes <= 320 * 320 * 3 * 4


def real_frames() -> list[Path]:
    """Every real camera frame and photo under the shared data folder."""
    return sorted(SHARED_DATA.glob("*/images/**/*.jpg"))


def test_real_frames_all_decode_strictly_to_opencvs_pixels() -> None:
    paths = real_frames()
    if not paths:
        pytest.skip(f"no real frames under {SHARED_DATA} (shared data is not part of the repository)")
    for path in paths:
        data = path.read_bytes()
        image, (width, _height) = decode_reduced(data, 320)
        factor = math.ceil(width / image.shape[1])
        assert np.array_equal(image, cv2_decode(data, factor)), path.name
