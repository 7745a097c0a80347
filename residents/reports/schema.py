"""Store tables of reports (migration 16 of tichwatch.app.schema): a placeholder until the reports land."""
from __future__ import annotations

REPORTS_SCHEMA = "SELECT 1;"
"""Reports made (period, files, who asked)."""
