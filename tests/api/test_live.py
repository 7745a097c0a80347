"""The live stream: readings published over MQTT arrive as SSE events; Last-Event-ID resumes; a stale id resets."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

from tichwatch.api.live import EventHub, stream
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.publisher import GatewayPublisher


def parse_sse(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append(fields)
    return out


async def take(gen, n: int) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The first `n` events (parsed) of a stream; chunks may carry several events."""
    out: list[dict[str, str]] = []
    async for chunk in gen:
        out.extend(parse_sse(chunk.decode()))
        if len(out) >= n:
            break
    return out[:n]


def test_resume_with_last_event_id_and_reset_on_stale_id() -> None:
    async def scenario() -> None:
        hub = EventHub(capacity=3, boot="B", batch_s=0)
        hub.bind(asyncio.get_running_loop())
        for i in range(3):
            hub.publish("reading", {"n": i})
        await asyncio.sleep(0.01)
        got = await take(stream(hub, "B-1"), 2)
        assert [e["id"] for e in got] == ["B-2", "B-3"]
        for i in range(3, 6):
            hub.publish("reading", {"n": i})
        await asyncio.sleep(0.01)
        assert (await take(stream(hub, "B-1"), 1))[0]["event"] == "reset"
        assert (await take(stream(hub, "A-5"), 1))[0]["event"] == "reset"
        assert (await take(stream(hub, "B-99"), 1))[0]["event"] == "reset"  # from the future: not this boot's
        live = stream(hub, None)
        task = asyncio.ensure_future(take(live, 1))
        await asyncio.sleep(0.05)
        hub.publish("alert", {"id": "x"})
        (event,) = await asyncio.wait_for(task, 2)
        assert event == {"id": "B-7", "event": "alert", "data": '{"id":"x"}'}
        await live.aclose()
        assert hub.clients == 0  # an ended stream leaves the hub

    asyncio.run(scenario())


def test_every_client_gets_every_event_serialised_once_and_filters_apply() -> None:
    async def scenario() -> None:
        hub = EventHub(boot="B", batch_s=0.005)
        hub.bind(asyncio.get_running_loop())
        everything = [stream(hub, None) for _ in range(50)]
        alerts_only = stream(hub, None, types=frozenset({"alert"}))
        tasks = [asyncio.ensure_future(take(g, 20)) for g in everything]
        alert_task = asyncio.ensure_future(take(alerts_only, 2))
        await asyncio.sleep(0.02)
        assert hub.clients == 51
        for i in range(20):
            hub.publish("alert" if i % 10 == 0 else "reading", {"n": i})
        results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert all([json.loads(e["data"])["n"] for e in got] == list(range(20)) for got in results)
        assert [json.loads(e["data"])["n"] for e in await asyncio.wait_for(alert_task, 5)] == [0, 10]
        for g in [*everything, alerts_only]:
            await g.aclose()

    asyncio.run(scenario())


def test_an_event_is_made_only_when_a_client_needs_it_and_then_once() -> None:
    # The ingest pipeline publishes every reading from its own thread: making and serialising the event there cost
    # about a tenth of its time, even with nobody listening.
    made: list[int] = []

    def data(n: int):  # type: ignore[no-untyped-def]
        return lambda: (made.append(n), {"n": n})[1]

    async def scenario() -> None:
        hub = EventHub(capacity=100, boot="B", batch_s=0)
        hub.bind(asyncio.get_running_loop())
        for i in range(5):
            hub.publish("reading", data(i))
        await asyncio.sleep(0.05)
        assert made == []  # nobody listens: nothing made
        a, b = stream(hub, "B-0"), stream(hub, "B-0")  # two clients resuming from the start
        assert [json.loads(e["data"])["n"] for e in await take(a, 5)] == [0, 1, 2, 3, 4]
        assert [json.loads(e["data"])["n"] for e in await take(b, 5)] == [0, 1, 2, 3, 4]
        assert made == [0, 1, 2, 3, 4]  # each made once for both
        hub.publish("reading", data(5))
        assert [json.loads(e["data"])["n"] for e in await take(a, 1)] == [5]
        assert made[-1] == 5 and len(made) == 6
        await a.aclose()
        await b.aclose()

    asyncio.run(scenario())


def test_a_slow_client_is_dropped_and_resumes_with_its_last_event_id() -> None:
    async def scenario() -> None:
        hub = EventHub(boot="B", batch_s=0, client_buffer_bytes=2000)
        hub.bind(asyncio.get_running_loop())
        slow = stream(hub, None)
        assert b"retry" in await slow.__anext__()  # connected, then reads nothing while events pile up
        fast = stream(hub, None)
        fast_task = asyncio.ensure_future(take(fast, 100))
        await asyncio.sleep(0.01)
        for i in range(100):
            hub.publish("reading", {"n": i, "pad": "x" * 50})
            await asyncio.sleep(0)
        assert len(await asyncio.wait_for(fast_task, 5)) == 100  # others are not held back by the slow one
        with pytest.raises(StopAsyncIteration):  # its buffer overflowed: the stream ends
            await asyncio.wait_for(slow.__anext__(), 2)
        resumed = await take(stream(hub, "B-0"), 100)  # the browser reconnects with the last id it received
        assert [json.loads(e["data"])["n"] for e in resumed] == list(range(100))
        await fast.aclose()

    asyncio.run(scenario())


def test_total_and_per_address_limits_refuse_with_503(live_app: tuple[Service, str]) -> None:
    service, base = live_app
    hub = service.hub
    hub.max_clients, hub.max_per_address = 1, 1

    async def hold_one() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client, \
                client.stream("GET", "/api/v1/stream") as first:
            assert first.status_code == 200
            await first.aiter_bytes().__anext__()
            second = await client.get("/api/v1/stream")
            assert second.status_code == 503 and second.headers["retry-after"] == "30"
            assert second.headers["content-type"].startswith("application/problem+json")
    try:
        asyncio.run(hold_one())
    finally:
        hub.max_clients, hub.max_per_address = 5000, 2500


def test_reading_over_mqtt_arrives_on_the_stream(live_app: tuple[Service, str],
                                                 gateway: GatewayPublisher) -> None:
    _, base = live_app
    received: list[dict[str, str]] = []

    def listen() -> None:
        with httpx.stream("GET", f"{base}/api/v1/stream", params={"types": "reading"}, timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            buf = ""
            for chunk in r.iter_text():
                buf += chunk
                received.extend(parse_sse(buf))
                buf = buf[buf.rfind("\n\n") + 2:] if "\n\n" in buf else buf
                if received:
                    return

    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.3)
    gateway.publish(Topics().reading("st1"), encode_reading(time.time() - 1, 6.66))
    t.join(timeout=10)
    assert received and received[0]["event"] == "reading"
    data = json.loads(received[0]["data"])
    assert data["level_m"] == 6.66 and data["station_id"] == "st1" and data["ts_local"].endswith("+07:00")
    assert httpx.get(f"{base}/api/v1/stream", params={"types": "weather"}).status_code == 400
