"""A frame worker's memory stays under the stated bound for the worst frames the default limits let through.

Each frame is handled in a fresh process (bench/frame_memory.py --child) as the pipeline handles it: size limit,
header and shape checks, then DustDetector.update; the kernel's peak-RSS mark is reset just before, so the figure is
what this one frame cost. A 16 × 4096 strip cost the old decoder about 900 MiB and a 4 × 4096 one several GiB.
"""
from __future__ import annotations

import pytest

from bench.frame_memory import BOUND_MIB, measure, worst_frames

CASES = {
    # the most memory any frame within 4096 × 4096 can take: every DCT coefficient of four components kept
    "progressive 4096x4096 CMYK": "ok",
    # libjpeg allocates for the announced size before it finds out the data is short
    "header says 4096x4096, data 640x480 (progressive CMYK)": "corrupt_jpeg",
    # the memory bomb found in review: refused from its header
    "strip 4x4096": "dimensions_too_small",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_worst_frames_peak_under_the_stated_bound(name: str) -> None:
    result = measure(worst_frames()[name]())
    assert result["outcome"] == CASES[name]
    assert float(result["peak_mib"]) < BOUND_MIB, result  # type: ignore[arg-type]
