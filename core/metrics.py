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
        self.rain_readings_stored = Counter("tichwatch_rain_readings_stored", "Rain-gauge readings committed to "
                                            "the store", registry=r)
        self.rain_forecast_fetches = Counter("tichwatch_rain_forecast_fetches", "Rainfall-forecast requests by "
                                             "outcome (ok, http_error, timeout, garbage, too_large, network)",
                                             ["outcome"], registry=r)
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
        self.store_write_failures = Counter("tichwatch_store_write_failures", "Writes the store refused (disk full, "
                                            "locked, I/O error); the work is retried, never dropped", registry=r)
        self.store_fault = Gauge("tichwatch_store_fault", "1 while the store refuses the pipeline's writes",
                                 registry=r)
        self.lease_held = Gauge("tichwatch_lease_held", "1 while this node holds the lease of a singleton (retention, "
                                "alerts-ticker, delivery:<receiver>, bulletin-schedule, reports)", ["lease"],
                                registry=r)
        self.subjects_owned = Gauge("tichwatch_subjects_owned", "Stations and cameras this node detects on (several "
                                    "nodes: the subject leases it holds)", registry=r)
        self.members = Gauge("tichwatch_members", "Nodes sharing the stations and cameras (1 alone)", registry=r)
        self.ingest_lag = Gauge("tichwatch_ingest_lag_seconds", "How long the oldest message of the last committed "
                                "batch waited between its arrival from the broker and its commit (a node falling "
                                "behind)", registry=r)
        self.errors = Counter("tichwatch_internal_errors", "Unexpected errors caught and logged", ["where"],
                              registry=r)
        self.retention_rows = Counter("tichwatch_retention_rows_removed", "Rows removed by retention", ["kind"],
                                      registry=r)
        self.retention_files = Counter("tichwatch_retention_files_removed", "Files removed by retention", ["kind"],
                                       registry=r)
        self.retention_bytes = Counter("tichwatch_retention_freed_bytes", "Bytes of files removed by retention",
                                       ["kind"], registry=r)
        self.retention_last_success = Gauge("tichwatch_retention_last_success_timestamp_seconds", "When the last "
                                            "retention run finished without error, Unix time", registry=r)
        self.retention_duration = Gauge("tichwatch_retention_last_duration_seconds", "How long the last retention "
                                        "run took", registry=r)
        self.data_dir_free_bytes = Gauge("tichwatch_data_dir_free_bytes", "Free space in the data directory's file "
                                         "system (read at scrape time)", registry=r)
        self.data_dir_free_ratio = Gauge("tichwatch_data_dir_free_ratio", "Free space in the data directory's file "
                                         "system as a fraction of its size (read at scrape time)", registry=r)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
