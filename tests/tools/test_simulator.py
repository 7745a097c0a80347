"""The simulator's scenario and its publishing through a real broker into the service."""
from __future__ import annotations

import itertools
import json
import threading

from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.config.loader import load_settings
from tichwatch.ingest.contract import Topics, parse_time
from tichwatch.tools.publisher import GatewayPublisher
from tichwatch.tools.scenario import Scenario, station_leads
from tichwatch.tools.simulator import DEFAULT_CATCH_UP_S, SimClock, Simulator

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


class Recorder:
    """A publisher that keeps what it is given (the simulator's schedule is tested without a broker)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, dict[str, str] | None]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 1, user_properties: dict[str, str] | None = None,
                wait: bool = False) -> None:
        self.messages.append((topic, payload, user_properties))

    def readings(self, station_id: str) -> list[tuple[float, float]]:
        """(ts, level) of every reading published for the station, a backlog array item by item."""
        out = []
        for topic, payload, _ in self.messages:
            if topic == Topics().reading(station_id):
                items = json.loads(payload)
                for item in items if isinstance(items, list) else [items]:
                    out.append((parse_time(item["ts"]), item["level_m"]))
        return out

    def frame_times(self, camera_id: str) -> list[float]:
        return [float(props["ts"]) for topic, _, props in self.messages
                if topic == Topics().frame(camera_id) and props is not None]


T0 = 1_796_070_000.0  # 2026-11-30 20:20 UTC: the demo's wall clock at its start


def run_demo(recorder: Recorder, wall_s: float, tick_s: float, frames: bool = False) -> Simulator:
    """The demo's simulator (default speed, catch-up and crest) stepped on a fake wall clock from T0."""
    wall = [T0]
    sim = Simulator(KP, recorder, wall=lambda: wall[0],  # type: ignore[arg-type]
                    frame_source=(lambda camera, t: b"jpeg") if frames else None)
    while wall[0] < T0 + wall_s:
        sim.step()
        wall[0] += tick_s
    return sim


def test_demo_flood_crests_inside_the_charts_24h_window_and_the_catch_up_ends_on_the_falling_limb() -> None:
    rec = Recorder()
    sim = run_demo(rec, wall_s=DEFAULT_CATCH_UP_S / 600 + 5, tick_s=1.0)
    assert sim.clock.caught_up()
    assert DEFAULT_CATCH_UP_S / 600 < 180  # the 24 h charts are full after less than three minutes
    leads = station_leads(list(KP.stations))
    for st in KP.stations:
        got = rec.readings(st.id)
        window = [(t, lvl) for t, lvl in got if t >= T0 - 24 * 3600]
        assert window[0][0] <= T0 - 24 * 3600 + st.expected_interval_s  # the whole window is drawn
        assert window[-1][0] >= T0 - st.expected_interval_s
        a = st.alarm
        assert window[0][1] < a.bd1_m  # quiet river at the left edge of the chart
        crossed = [next(t for t, lvl in window if lvl >= m) for m in (a.bd1_m, a.bd2_m, a.bd3_m)]
        assert crossed == sorted(crossed)  # báo động I, then II, then III, all inside the window
        crest = max(range(int(T0 - 24 * 3600), int(T0), 300),
                    key=lambda t: sim.scenario.clean_level(st, t, leads[st.id]))
        assert T0 - 12 * 3600 <= crest <= T0 - 5 * 3600, st.id  # a few hours before the demo started
        assert sum(lvl > a.bd3_m for t, lvl in window if abs(t - crest) < 3600) >= 3  # not a spike: the crest
        last_hour = [lvl for t, lvl in window if t > T0 - 3600]
        assert a.bd1_m < last_hour[-1] < a.bd3_m and last_hour[-1] < last_hour[0]  # receding, still above BĐ I


def test_demo_readings_stay_in_the_past_and_every_start_places_the_same_flood() -> None:
    first, second = Recorder(), Recorder()
    run_demo(first, wall_s=200, tick_s=1.0)
    assert all(t <= T0 + 200 for st in KP.stations for t, _ in first.readings(st.id))
    wall = [T0 + 1200]  # a start 20 minutes later, within the same hour, crests at the same time
    sim = Simulator(KP, second, wall=lambda: wall[0])  # type: ignore[arg-type]
    assert sim.scenario == Simulator(KP, first, wall=lambda: T0).scenario  # type: ignore[arg-type]


def test_cameras_send_live_at_their_interval_from_the_start_and_never_look_offline() -> None:
    rec = Recorder()
    run_demo(rec, wall_s=30 * 60, tick_s=0.25, frames=True)  # the catch-up and 27 minutes after it
    for cam in KP.cameras:
        times = rec.frame_times(cam.id)
        assert times[0] == T0 and len(times) == 30 * 60 // cam.expected_interval_s
        gaps = {round(b - a, 2) for a, b in itertools.pairwise(times)}
        assert gaps == {float(cam.expected_interval_s)}, gaps  # no 600 s gaps, during or after the catch-up
        assert max(gaps) < cam.expected_interval_s * KP.dust.offline_factor


def test_after_a_stall_the_cameras_resume_without_a_burst() -> None:
    rec = Recorder()
    wall = [T0]
    sim = Simulator(KP, rec, wall=lambda: wall[0], frame_source=lambda camera, t: b"jpeg")  # type: ignore[arg-type]
    sim.step()
    wall[0] += 10 * 60  # the process was stopped for ten minutes
    sim.step()
    sim.step()
    wall[0] += 60
    sim.step()
    cam = KP.cameras[0]
    assert rec.frame_times(cam.id) == [T0, T0 + 600, T0 + 660]


def test_anchored_scenario_crests_when_asked() -> None:
    crest_at = 1_796_040_000.0
    sc = Scenario().anchored(crest_at)
    st = KP.station("tich-vinhphuc")
    assert st
    peak = max(range(int(crest_at) - 12 * 3600, int(crest_at) + 12 * 3600, 300), key=lambda t: sc.clean_level(st, t))
    assert peak == crest_at
    assert sc.clean_level(st, crest_at + sc.period_s) == sc.clean_level(st, crest_at)  # one wave per period
