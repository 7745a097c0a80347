"""A camera learns from the officers' answers: labels, ignore regions, per-camera models and the learning period."""
