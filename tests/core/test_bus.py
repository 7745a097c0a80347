"""The event bus: listeners by type, a failing listener contained, unsubscribe, subscribing while publishing."""
from __future__ import annotations

import logging

import pytest

from tichwatch.core.bus import EventBus, Unsubscribe
from tichwatch.core.events import FrameJudged, ReadingsStored, StationChanged
from tichwatch.core.samples import Reading

FRAME = FrameJudged("cam1", 1_790_000_000, 0.4, "clear")


def test_a_failing_listener_does_not_stop_the_others_nor_reach_the_publisher(
        caplog: pytest.LogCaptureFixture) -> None:
    counted: list[int] = []
    bus = EventBus(on_failure=lambda: counted.append(1))
    got: list[str] = []

    def broken(e: FrameJudged) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(FrameJudged, lambda e: got.append(f"first {e.camera_id}"))
    bus.subscribe(FrameJudged, broken)
    bus.subscribe(FrameJudged, lambda e: got.append(f"last {e.camera_id}"))
    with caplog.at_level(logging.ERROR):
        bus.publish(FRAME)
        bus.publish(FRAME)
    assert got == ["first cam1", "last cam1"] * 2
    assert bus.failures == 2 and counted == [1, 1]
    assert "FrameJudged" in caplog.text and "listener bug" in caplog.text


def test_a_failure_to_count_a_failure_is_contained_too() -> None:
    def broken_counter() -> None:
        raise RuntimeError("metrics broken")

    def broken(e: FrameJudged) -> None:
        raise RuntimeError("listener bug")

    bus = EventBus(on_failure=broken_counter)
    bus.subscribe(FrameJudged, broken)
    bus.publish(FRAME)
    assert bus.failures == 1


def test_listeners_get_only_their_event_type() -> None:
    bus = EventBus()
    frames: list[FrameJudged] = []
    stations: list[StationChanged] = []
    bus.subscribe(FrameJudged, frames.append)
    bus.subscribe(StationChanged, stations.append)
    bus.publish_all([FRAME, ReadingsStored((Reading("st1", 1.0, 2.0),))])
    assert frames == [FRAME] and stations == []


def test_unsubscribe_ends_only_its_own_subscription_and_can_be_called_twice() -> None:
    bus = EventBus()
    got: list[FrameJudged] = []
    first = bus.subscribe(FrameJudged, got.append)
    bus.subscribe(FrameJudged, got.append)  # the same callback again: a second subscription
    bus.publish(FRAME)
    assert len(got) == 2
    first()
    first()
    bus.publish(FRAME)
    assert len(got) == 3


def test_subscribing_and_unsubscribing_inside_a_listener_affects_the_next_event_only() -> None:
    bus = EventBus()
    got: list[str] = []
    stops: list[Unsubscribe] = []

    def once(e: FrameJudged) -> None:
        got.append("once")
        stops[0]()
        bus.subscribe(FrameJudged, lambda e: got.append("added"))

    stops.append(bus.subscribe(FrameJudged, once))
    bus.subscribe(FrameJudged, lambda e: got.append("other"))
    bus.publish(FRAME)
    assert got == ["once", "other"]
    bus.publish(FRAME)
    assert got == ["once", "other", "other", "added"]
