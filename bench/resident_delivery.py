"""ZNS messages per second to residents through the outbox, by number of parallel senders (`subscriptions.zns.
concurrency`), against a local server speaking ZNS that takes a fixed time per request (Zalo's own latency is not
measured here: set it with --latency-ms). Each message is checked sent once, with its own tracking_id.

    .venv/bin/python bench/resident_delivery.py [--n 1000] [--latency-ms 20] [--senders 1 2 4 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.alerts.servers import HttpRecorder
from tests.residents.delivery.support import send_rate


def main() -> None:
    """Measure and print one line per number of senders."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="residents told of one alert")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the fake ZNS server's time per request")
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    gateway = HttpRecorder().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for senders in args.senders:
                rate = send_rate(Path(tmp) / f"s{senders}", gateway.url, senders, args.n, args.latency_ms / 1000)
                print(f"senders={senders}: {rate:.0f} messages/s ({args.n} residents, {args.latency_ms:g} ms per "
                      f"request; {args.n / rate:.1f} s for all)")
    finally:
        gateway.stop()


if __name__ == "__main__":
    main()
