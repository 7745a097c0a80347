"""The optional rainfall-forecast provider: Open-Meteo's hourly precipitation forecast, polled per station location.

GET <url>?latitude=..&longitude=..&hourly=precipitation&timezone=UTC&timeformat=unixtime&forecast_days=N answers
`{"hourly_units": {"time": "unixtime", "precipitation": "mm"}, "hourly": {"time": [...], "precipitation": [...]},
"utc_offset_seconds": 0, ...}`, each value the rain of the hour ending at its time (Open-Meteo's documented meaning of
`precipitation`: the sum of the preceding hour). ISO 8601 times (the API's default format) are read too.

Everything that can go wrong is an outcome, never an exception to the caller: a timeout, a refused connection, an
HTTP error, a body over the size limit, JSON that is not the documented shape. Each is counted
(`tichwatch_rain_forecast_fetches_total{outcome}`) and logged when it changes; the station keeps its last good forecast
(also kept on disk, so a restart during an outage still has it) until it is `stale_after_s` old. The service works the
same without any forecast.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tichwatch.config.rain import RainForecastSettings
from tichwatch.config.schema import StationConfig
from tichwatch.core.metrics import Metrics

log = logging.getLogger(__name__)

CACHE_DIR = "rain-forecast"
"""Directory under the data directory holding each station's last good response."""
MAX_HOURS = 16 * 24
"""Most hourly values taken from one response (Open-Meteo forecasts at most 16 days)."""
MAX_HOURLY_MM = 500.0
"""Largest believable forecast rain in one hour, millimetres (the world record is about 300 mm)."""


class ForecastError(Exception):
    """A fetch or a response that cannot be used; `outcome` is the metric label."""

    def __init__(self, outcome: str, detail: str):
        self.outcome = outcome
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class StationForecast:
    """One station's rainfall forecast: when it was fetched, and (ts, mm) for each hour ending at ts."""

    station_id: str
    issued_ts: float
    hourly: tuple[tuple[float, float], ...]
    stale_after_s: float

    def stale(self, now: float) -> bool:
        """True once the forecast is too old to use."""
        return now - self.issued_ts > self.stale_after_s


def forecast_url(settings: RainForecastSettings, lat: float, lon: float) -> str:
    """The request for one location's hourly precipitation, in UTC epoch seconds."""
    query = urllib.parse.urlencode({"latitude": f"{lat:.4f}", "longitude": f"{lon:.4f}", "hourly": "precipitation",
                                    "timezone": "UTC", "timeformat": "unixtime",
                                    "forecast_days": settings.forecast_days})
    return f"{settings.url}?{query}"


def _time(value: Any, offset_s: float) -> float:
    """An hourly time: epoch seconds, or ISO 8601 local time ('2026-12-01T07:00') at the response's UTC offset."""
    if isinstance(value, bool):
        raise ForecastError("garbage", "a time is a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 < value < 1e11:
            raise ForecastError("garbage", f"time {value!r} is not epoch seconds")
        return float(value)
    if isinstance(value, str) and len(value) <= 32:
        try:
            local = datetime.fromisoformat(value)
        except ValueError:
            raise ForecastError("garbage", f"time {value[:32]!r} is not ISO 8601") from None
        if local.tzinfo is None:
            return (local.replace(tzinfo=UTC) - timedelta(seconds=offset_s)).timestamp()
        return local.timestamp()
    raise ForecastError("garbage", "a time is neither epoch seconds nor ISO 8601")


def parse_open_meteo(body: bytes) -> list[tuple[float, float]]:
    """The (ts, mm) pairs of an Open-Meteo forecast response, in time order; hours without a value (null) are left
    out. ForecastError('garbage') for anything but the documented shape."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ForecastError("garbage", f"not UTF-8 JSON: {str(exc)[:120]}") from None
    if not isinstance(doc, dict):
        raise ForecastError("garbage", "the response is not a JSON object")
    if doc.get("error") is True:
        raise ForecastError("garbage", f"the API refused the request: {str(doc.get('reason'))[:200]}")
    hourly, units = doc.get("hourly"), doc.get("hourly_units", {})
    if not isinstance(hourly, dict) or not isinstance(units, dict):
        raise ForecastError("garbage", "no hourly object")
    times, values = hourly.get("time"), hourly.get("precipitation")
    if not isinstance(times, list) or not isinstance(values, list) or len(times) != len(values):
        raise ForecastError("garbage", "hourly.time and hourly.precipitation must be lists of one length")
    if units.get("precipitation", "mm") != "mm":
        raise ForecastError("garbage", f"precipitation in {str(units.get('precipitation'))[:20]!r}, not mm")
    offset = doc.get("utc_offset_seconds", 0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not abs(offset) <= 18 * 3600:
        raise ForecastError("garbage", "utc_offset_seconds is not an offset")
    out: list[tuple[float, float]] = []
    for t, v in zip(times[:MAX_HOURS], values[:MAX_HOURS]):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= MAX_HOURLY_MM:
            raise ForecastError("garbage", f"precipitation {str(v)[:20]} is not 0–{MAX_HOURLY_MM:g} mm")
        out.append((_time(t, float(offset)), float(v)))
    if not out:
        raise ForecastError("garbage", "no hourly precipitation value")
    out.sort()
    return out


def fetch(url: str, timeout_s: float, max_bytes: int) -> bytes:
    """GET a URL's body (at most `max_bytes`); ForecastError with the outcome otherwise."""
    req = urllib.request.Request(url, headers={"User-Agent": "TichWatch", "Accept": "application/json"})
    deadline = time.monotonic() + timeout_s
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            length = resp.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise ForecastError("too_large", f"response of {length} bytes exceeds {max_bytes}")
            chunks: list[bytes] = []
            size = 0
            while chunk := resp.read(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise ForecastError("too_large", f"response over {max_bytes} bytes")
                if time.monotonic() > deadline:  # a server trickling bytes would otherwise hold the poller
                    raise ForecastError("timeout", f"response not complete within {timeout_s} s")
                chunks.append(chunk)
            return b"".join(chunks)
    except ForecastError:
        raise
    except urllib.error.HTTPError as exc:
        raise ForecastError("http_error", f"HTTP {exc.code}") from None
    except TimeoutError:
        raise ForecastError("timeout", f"no response within {timeout_s} s") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise ForecastError("timeout", f"no response within {timeout_s} s") from None
        raise ForecastError("network", f"{type(exc).__name__}: {str(reason)[:200]}") from None


Fetch = Callable[[str, float, int], bytes]
"""How a body is fetched (url, timeout_s, max_bytes); tests pass their own."""
OnForecast = Callable[[str, StationForecast | None], None]
"""Told each station's new forecast, or None when its last one went stale."""


class RainForecastProvider:
    """Polls the forecast of every station on its own thread; `poll(now)` does one round (tests call it)."""

    def __init__(self, settings: RainForecastSettings, stations: Sequence[StationConfig], data_dir: Path,
                 metrics: Metrics, on_forecast: OnForecast, clock: Callable[[], float] = time.time,
                 fetcher: Fetch = fetch):
        self.settings = settings
        self._stations = list(stations)
        self._dir = Path(data_dir) / CACHE_DIR
        self._metrics = metrics
        self._on_forecast = on_forecast
        self._clock = clock
        self._fetch = fetcher
        self._lock = threading.Lock()
        self._forecasts: dict[str, StationForecast] = {}
        self._last_outcome: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def forecasts(self) -> dict[str, StationForecast]:
        """Each station's current (not stale) forecast."""
        with self._lock:
            return dict(self._forecasts)

    def load_cache(self, now: float) -> None:
        """Take each station's last good response kept on disk, unless it is stale (at start, before the first poll:
        an outage at start-up does not leave the forecast empty)."""
        for st in self._stations:
            path = self._dir / f"{st.id}.json"
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                issued = float(raw["issued_ts"])
                hourly = parse_open_meteo(raw["body"].encode("utf-8"))
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, TypeError, OSError, ForecastError) as exc:
                log.warning("rain forecast: ignoring the unreadable cache of %s (%s)", st.id, str(exc)[:200])
                continue
            if now - issued <= self.settings.stale_after_s:
                self._accept(st.id, issued, hourly)

    def poll(self, now: float) -> dict[str, str]:
        """Fetch every station's forecast once; each station's outcome (ok or why not)."""
        outcomes: dict[str, str] = {}
        for st in self._stations:
            if self._stop.is_set():
                break
            outcomes[st.id] = self._poll_station(st, now)
        self._expire(now)
        return outcomes

    def _poll_station(self, st: StationConfig, now: float) -> str:
        """One station's fetch: accepted and cached, or its failure counted and logged (once per change)."""
        url = forecast_url(self.settings, st.lat, st.lon)
        try:
            body = self._fetch(url, self.settings.timeout_s, self.settings.max_response_bytes)
            hourly = parse_open_meteo(body)
        except ForecastError as exc:
            outcome, detail = exc.outcome, exc.detail
        except Exception as exc:  # a bug in a fetcher: the poller and the service go on
            outcome, detail = "network", f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            self._accept(st.id, now, hourly)
            self._save(st.id, now, body)
            outcome, detail = "ok", ""
        self._metrics.rain_forecast_fetches.labels(outcome).inc()
        if self._last_outcome.get(st.id) != outcome:
            if outcome == "ok":
                log.info("rain forecast for %s: fetched", st.id)
            else:
                log.warning("rain forecast for %s unavailable: %s (%s); the service goes on without it", st.id,
                            outcome, detail)
        self._last_outcome[st.id] = outcome
        return outcome

    def _accept(self, station_id: str, issued_ts: float, hourly: list[tuple[float, float]]) -> None:
        fc = StationForecast(station_id, issued_ts, tuple(hourly), float(self.settings.stale_after_s))
        with self._lock:
            self._forecasts[station_id] = fc
        self._tell(station_id, fc)

    def _expire(self, now: float) -> None:
        """Drop forecasts gone stale (no successful fetch for `stale_after_s`)."""
        with self._lock:
            gone = [sid for sid, fc in self._forecasts.items() if fc.stale(now)]
            for sid in gone:
                del self._forecasts[sid]
        for sid in gone:
            log.warning("rain forecast for %s is stale and no longer used", sid)
            self._tell(sid, None)

    def _tell(self, station_id: str, fc: StationForecast | None) -> None:
        try:
            self._on_forecast(station_id, fc)
        except Exception:
            self._metrics.errors.labels("rain_forecast").inc()
            log.exception("rain forecast listener failed for %s", station_id)

    def _save(self, station_id: str, issued_ts: float, body: bytes) -> None:
        """Keep the last good response on disk (written atomically; a failure costs only the cache)."""
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = self._dir / f".{station_id}.json.tmp"
            tmp.write_text(json.dumps({"issued_ts": issued_ts, "body": body.decode("utf-8")}), encoding="utf-8")
            os.replace(tmp, self._dir / f"{station_id}.json")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("rain forecast: cannot cache the response of %s (%s)", station_id, exc)

    # -- thread -----------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the cache, then poll at once and every `poll_interval_s` on a daemon thread."""
        self.load_cache(self._clock())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rain-forecast", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop polling (a fetch in progress ends within its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll(self._clock())
            except Exception:  # poll handles its own failures; should it fail anyway, the thread goes on
                self._metrics.errors.labels("rain_forecast").inc()
                log.exception("rain forecast poll failed")
            self._stop.wait(self.settings.poll_interval_s)
