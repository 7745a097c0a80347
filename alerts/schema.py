"""Store tables of the alert engine (migration 2 of ingest.migrations)."""
from __future__ import annotations

ALERTS_SCHEMA = """
SELECT 1;
"""
