"""Store changes for delivering to residents (migration 15 of tichwatch.app.schema): owned by the resident delivery
(ZNS, SMS fallback, receipts); a placeholder until it lands."""
from __future__ import annotations

RESIDENT_DELIVERY_SCHEMA = "SELECT 1;"
"""Outbox rows addressed to subscribers, ZNS receipts and quota counts."""
