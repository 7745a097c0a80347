"""Cost of the flood forecast's rain questions: RainHistory.add per reading and station_total_mm per question, for
windows of 3, 24 and 72 hours over two gauges holding three days of 10-minute readings.

Run: .venv/bin/python bench/rain_history_cost.py

The totals come from running sums (two binary searches per gauge), so a question costs the same whatever the window's
length. Each figure is the best of a few rounds.
"""
from __future__ import annotations

import time

from tichwatch.core.samples import RainReading
from tichwatch.detectors.flood.rain import RainHistory

T0 = 1_790_000_000.0
READINGS = 3 * 144  # three days of 10-minute readings per gauge
ROUNDS = 5
QUESTIONS = 2000


def best_us(fn: object, n: int) -> float:
    """Best per-call time over ROUNDS rounds of n calls, microseconds."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(n):
            fn()  # type: ignore[operator]
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def main() -> None:
    """Print the figures."""
    history = RainHistory({"st": ("a", "b")})
    for gauge in ("a", "b"):
        for i in range(READINGS):
            history.add(RainReading(gauge, T0 + 600 * i, 0.5, 600))
    end = T0 + 600 * (READINGS - 1)
    for hours in (3, 24, 72):
        cost = best_us(lambda h=hours: history.station_total_mm("st", end, h * 3600), QUESTIONS)
        print(f"station_total_mm, 2 gauges, {hours:>2} h window: {cost:7.1f} µs")
    fresh = RainHistory()
    counter = iter(range(10**9))
    cost = best_us(lambda: fresh.add(RainReading("a", T0 + 600 * next(counter), 0.5, 600)), 20_000)
    print(f"add, per reading: {cost:7.1f} µs (kept: {fresh.kept('a')} of {ROUNDS * 20_000})")


if __name__ == "__main__":
    main()
