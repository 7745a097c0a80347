"""The simulator's scenario and its publishing through a real broker into the service."""
from __future__ import annotations

import threading

from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.config.loader import load_settings
from tichwatch.tools.publisher import GatewayPublisher
from tichwatch.tools.scenario import Scenario, station_leads
from tichwatch.tools.simulator import SimClock, Simulator

KP = load_settings(env={})


def test_wave_rises_through_every_alarm_level_and_falls_back() -> None:
    sc = Scenario()
    for st in KP.stations:
        levels = [sc.clean_level(st, t) for t in range(0, int(sc.period_s), 600)]
        assert min(levels) < st.alarm.bd1_m - 1.0
        assert st.alarm.bd3_m < max(levels) < (st.alarm.record_m or 1e9)
        assert levels[-1] < st.alarm.bd1_m  # the river is back below BD1 before the next wave


def test_upstream_station_leads_downstream() -> None:
    leads = station_leads(list(KP.stations))
    assert leads["tich-kimquan"] == 10800 and leads["tich-vinhphuc"] == 0
    sc = Scenario()
    up, down = KP.station("tich-kimquan"), KP.station("tich-vinhphuc")
    assert up and down
    peak_t = lambda st, lead: max(range(0, int(sc.period_s), 300), key=lambda t: sc.clean_level(st, t, lead))  # noqa
    assert peak_t(down, 0) - peak_t(up, leads["tich-kimquan"]) == 10800


def test_faults_appear_spike_stuck_and_silence() -> None:
    sc = Scenario()
    st0, st1, st2 = KP.stations
    times = range(0, int(sc.period_s), 600)
    spikes = [t for t in times if abs(sc.reading(st0, 0, t) - sc.clean_level(st0, t)) > 1.0]  # type: ignore[operator]
    assert 0 < len(spikes) < 10
    lo, hi = (int(f * sc.period_s) for f in sc.stuck_frac)
    assert len({sc.reading(st1, 1, t) for t in range(lo, hi, 600)}) == 1
    lo, hi = (int(f * sc.period_s) for f in sc.silent_frac)
    assert all(sc.reading(st2, 2, t) is None for t in range(lo, hi, 600))
    assert sc.reading(st2, 2, hi + 600) is not None


def test_sim_clock_is_fast_then_real_and_never_ahead() -> None:
    wall = [1000.0]
    clock = SimClock(start=0.0, speed=100.0, wall=lambda: wall[0])
    assert clock.now() == 0.0
    wall[0] = 1005.0
    assert clock.now() == 500.0 and not clock.caught_up()
    wall[0] = 1020.0
    assert clock.now() == 1020.0 and clock.caught_up()


def test_simulator_publishes_into_the_service(service: Service, gateway: GatewayPublisher) -> None:
    settings = service.settings
    sim = Simulator(settings, gateway, speed=100_000, catch_up_s=6 * 3600)
    stop = threading.Event()
    thread = threading.Thread(target=sim.run, args=(stop, 0.05))
    thread.start()
    try:
        wait_for(lambda: service.store.count_readings("st1") >= 36 and service.store.count_readings("st2") >= 36,
                 timeout_s=20)
    finally:
        stop.set()
        thread.join()
    assert sim.published_readings >= 72
