"""The service's Prometheus metrics, one registry per service instance (so tests can run several)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Counters, gauges and histograms exported on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter("tichwatch_messages_in", "MQTT messages received", ["kind"], registry=r)
        self.rejections = Counter("tichwatch_rejections", "Payloads (or batch items) rejected to the dead-letter "
                                  "topic", ["reason"], registry=r)
        self.readings_stored = Counter("tichwatch_readings_stored", "Readings committed to the store", registry=r)
        self.readings_duplicate = Counter("tichwatch_readings_duplicate", "Readings already stored (redeliveries)",
                                          registry=r)
        self.frames_processed = Counter("tichwatch_frames_processed", "Frames run through the frame detectors",
                                        ["camera"], registry=r)
        self.frames_dropped = Counter("tichwatch_frames_dropped", "Frames replaced by a newer one before processing "
                                      "(latest-wins)", ["camera"], registry=r)
        self.queue_depth = Gauge("tichwatch_queue_depth", "Messages waiting for the pipeline worker", ["queue"],
                                 registry=r)
        self.detector_seconds = Histogram("tichwatch_detector_seconds", "Time spent in a detector per sample",
                                          ["detector"], registry=r,
                                          buckets=(1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5))
        self.detections = Counter("tichwatch_detections", "Detections emitted", ["kind"], registry=r)
        self.batch_seconds = Histogram("tichwatch_commit_seconds", "Time to commit one batch", registry=r)
        self.mqtt_connected = Gauge("tichwatch_mqtt_connected", "1 while connected to the broker", registry=r)
        self.errors = Counter("tichwatch_internal_errors", "Unexpected errors caught and logged", ["where"],
                              registry=r)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
