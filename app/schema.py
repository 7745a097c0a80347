"""The store's versioned schema, assembled from what each package hands in, and the one way to open the store.

Append a new entry to add a version; never edit or reorder a released one (a database records how many it has run).
"""
from __future__ import annotations

from pathlib import Path

from tichwatch.alerts.desk_schema import DESK_SCHEMA
from tichwatch.alerts.schema import ALERT_EPISODES, ALERTS_SCHEMA, NOTIFICATIONS_OF_BULLETINS
from tichwatch.api.auth_schema import AUTH_SCHEMA, AUTH_THROTTLE_INDEX
from tichwatch.config.loader import secret
from tichwatch.learning.schema import LEARNING_SCHEMA
from tichwatch.residents.bulletins.schema import BULLETINS_SCHEMA, BULLETINS_SEARCH_SCHEMA
from tichwatch.residents.feeds.issued import CAP_MESSAGES_SCHEMA
from tichwatch.residents.reports.schema import REPORTS_SCHEMA
from tichwatch.residents.subscriptions.delivery_schema import RESIDENT_DELIVERY_SCHEMA
from tichwatch.residents.subscriptions.schema import SUBSCRIPTIONS_SCHEMA
from tichwatch.store.database import POSTGRESQL, URL_ENV, Script, dialect_of, in_schema
from tichwatch.store.migrations import HEALTH_PROBE_SCHEMA, SAMPLES_SCHEMA
from tichwatch.store.overrides import OVERRIDES_SCHEMA
from tichwatch.store.rain import RAIN_SCHEMA
from tichwatch.store.store import Store

MIGRATIONS: tuple[str | Script, ...] = (
    SAMPLES_SCHEMA,  # 1: readings, latest frames, evidence, detections (store)
    ALERTS_SCHEMA,  # 2: alerts, audit log, silences, notification log and outbox (alerts)
    AUTH_SCHEMA,  # 3: officer accounts, sessions, API keys, login throttling, officer audit log (api)
    BULLETINS_SCHEMA,  # 4: bulletins, their audit log and published feed entries (residents)
    OVERRIDES_SCHEMA,  # 5: alarm levels edited at run time (store.overrides)
    HEALTH_PROBE_SCHEMA,  # 6: the readiness probe's row (store)
    AUTH_THROTTLE_INDEX,  # 7: sign-in throttling counts failures per client address too (api)
    NOTIFICATIONS_OF_BULLETINS,  # 8: the outbox carries bulletin deliveries too (alerts)
    CAP_MESSAGES_SCHEMA,  # 9: issued CAP messages, their bytes fixed for good (residents.feeds)
    DESK_SCHEMA,  # 10: duty-roster overrides and false-alarm marks (alerts, the officer's desk)
    BULLETINS_SEARCH_SCHEMA,  # 11: full-text search of bulletins (residents.bulletins)
    LEARNING_SCHEMA,  # 12: dust labels, ignore regions, per-camera models, learning periods (learning)
    RAIN_SCHEMA,  # 13: rain-gauge readings (store.rain)
    SUBSCRIPTIONS_SCHEMA,  # 14: residents' subscriptions by hamlet (residents.subscriptions)
    RESIDENT_DELIVERY_SCHEMA,  # 15: deliveries to residents: ZNS / SMS rows, receipts, quota (residents.subscriptions)
    REPORTS_SCHEMA,  # 16: reports to the People's Committee (residents.reports)
    ALERT_EPISODES,  # 17: an alert's episode (kind, subject, start) is unique (alerts)
)
"""Every migration, in order; the position is the schema version."""


def open_store(data_dir: Path, write_busy_timeout_s: float = 5.0, read_busy_timeout_s: float = 2.0,
               url: str | None = None, schema: str | None = None) -> Store:
    """The deployment's store, migrated to the full schema: files in `data_dir`, the database at `url` (default: the
    URL in the environment variable TICHWATCH_DATABASE_URL, else SQLite in `data_dir`); on PostgreSQL, in `schema`
    when given (made when missing)."""
    url = url if url is not None else secret(URL_ENV)
    if schema is not None and url is not None and dialect_of(url) == POSTGRESQL:
        url = in_schema(url, schema)
    return Store(data_dir, MIGRATIONS, write_busy_timeout_s, read_busy_timeout_s, url)
