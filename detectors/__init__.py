"""Detectors: pure logic over samples (readings, frames) that emits detections. No I/O, time is passed in."""
