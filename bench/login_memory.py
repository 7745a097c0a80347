"""Memory of a crowd of sign-ins: 60 logins at once (real uvicorn, real argon2id parameters, each from its own address
so the throttle admits them all), the service's resident memory sampled every 5 ms; the growth over the idle service
with the hashing gate (2 at once, tichwatch.api.passwords) against the same crowd without it (the thread pool's 40 at
once, as before the gate), each in a fresh process in the same run.

    .venv/bin/python bench/login_memory.py [--crowd 60]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSWORD = "bench-password-1"


def rss_mib() -> float:
    """This process's resident memory now, MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def one_run(gated: bool, crowd: int) -> dict[str, object]:
    """Serve the app, fire the crowd, return the idle and peak memory and the answers (in this process)."""
    from tests.accounts_support import NOW, cheap_service, post_all, serve
    from tichwatch.api.accounts import Role
    from tichwatch.api.passwords import PasswordWork

    with tempfile.TemporaryDirectory() as tmp:
        svc = cheap_service(Path(tmp) / "data")
        svc.accounts.passwords = PasswordWork(2, 8, 5.0) if gated else PasswordWork(1000, 1000, 60.0)
        svc.accounts.add_user("truc.ban", PASSWORD, Role.OFFICER, NOW)
        with serve(svc) as served:
            idle = rss_mib()
            peak = [idle]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mib())
                    time.sleep(0.005)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            answers = post_all(f"{served.url}/api/v1/auth/login", [{"username": "truc.ban", "password": PASSWORD}]
                               * crowd, [{"X-Forwarded-For": f"10.2.0.{i}"} for i in range(crowd)])
            elapsed = time.perf_counter() - start
            done.set()
            sampler.join()
        svc.store.close()
    statuses = [r.status_code for r in answers]
    return {"idle_mib": idle, "peak_mib": peak[0], "elapsed_s": elapsed,
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))}}


MAX_RATIO = 0.25
"""The gated crowd's memory growth, as a share of the same crowd's without the gate (measured about 0.06)."""


def main() -> int:
    """Run both configurations in fresh processes and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crowd", type=int, default=60)
    parser.add_argument("--child", choices=["gated", "ungated"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child == "gated", args.crowd)))
        return 0
    results = {}
    for mode in ("ungated", "gated"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--crowd", str(args.crowd)],
                             capture_output=True, text=True, check=True)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    for mode, r in results.items():
        print(f"{mode:8} idle {r['idle_mib']:7.0f} MiB  peak {r['peak_mib']:7.0f} MiB  growth "
              f"{r['peak_mib'] - r['idle_mib']:7.0f} MiB  {r['elapsed_s']:5.1f} s  answers {r['statuses']}")
    growth = {m: r["peak_mib"] - r["idle_mib"] for m, r in results.items()}
    ratio = growth["gated"] / max(growth["ungated"], 1)
    print(f"growth ratio gated/ungated: {ratio:.2f} (target ≤ {MAX_RATIO}; bound: 2 × 64 MiB = 128 MiB)")
    answered = sum(results["gated"]["statuses"].values())
    if answered < args.crowd:
        print(f"FAIL: only {answered} of {args.crowd} sign-ins were answered: nothing to compare")
        return 1
    if ratio > MAX_RATIO:
        print(f"FAIL: the gated crowd grew the service by {ratio:.2f} of the ungated one (target ≤ {MAX_RATIO})")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
