"""MQTT ingest: topic contract, payload codecs, the embedded store, pipeline, simulator and replay."""
