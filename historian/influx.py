"""Writes batches of line-protocol points to InfluxDB's /api/v2/write (influxdb-client, synchronous, gzip).

The synchronous write API is used on purpose: the caller (the historian's drain thread) learns the outcome of every
request and removes points from its spool only after the server answered 204. The client's own retries are off
(`retries=False`): retrying, backing off and splitting refused batches are the drain thread's decisions.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from urllib3.exceptions import HTTPError

from tichwatch.config.historian import HistorianSettings

RETRYABLE_STATUS = frozenset({401, 403, 404, 408, 429})
"""HTTP statuses worth retrying besides 5xx: a wrong token or a missing bucket is fixed by the operator, not by
dropping points; a timeout or rate limit passes."""


class WriteFailed(Exception):
    """A write the server did not accept; `retryable` false means it refused these points as such (400, 413, 422)."""

    def __init__(self, reason: str, retryable: bool, detail: str):
        self.reason = reason
        self.retryable = retryable
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class PointWriter(Protocol):
    """Something that stores a batch of line-protocol points or raises WriteFailed."""

    def write(self, lines: Sequence[str]) -> None:
        """Write all points, or raise WriteFailed (none, some or all of them may have been stored)."""

    def close(self) -> None:
        """Release connections."""


class InfluxWriter:
    """A PointWriter for InfluxDB 2.x/3.x (and servers speaking its v2 write API)."""

    def __init__(self, settings: HistorianSettings, token: str):
        self._settings = settings
        self._token = token
        self._client = InfluxDBClient(
            url=settings.url, token=token, org=settings.org, timeout=int(settings.timeout_s * 1000), enable_gzip=True,
            ssl_ca_cert=str(settings.tls_ca_file) if settings.tls_ca_file else None, retries=False)
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: Sequence[str]) -> None:
        """POST the points (gzip, millisecond precision); raise WriteFailed with the reason classified."""
        try:
            self._api.write(bucket=self._settings.bucket, org=self._settings.org, record=list(lines),
                            write_precision=WritePrecision.MS)  # type: ignore[arg-type]  # the library's MS is a str
        except InfluxDBError as exc:
            status = int(getattr(exc.response, "status", 0) or 0)
            retryable = status >= 500 or status in RETRYABLE_STATUS or status == 0
            message = exc.message.decode(errors="replace") if isinstance(exc.message, bytes) else str(exc.message)
            raise WriteFailed(f"http_{status}", retryable, self._redact(message)) from None
        except (HTTPError, OSError) as exc:
            raise WriteFailed("unreachable", True, self._redact(f"{type(exc).__name__}: {exc}")) from None

    def _redact(self, text: str) -> str:
        """Error text as it may be logged: never with the token in it, and short."""
        return text.replace(self._token, "***")[:300] if self._token else text[:300]

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
