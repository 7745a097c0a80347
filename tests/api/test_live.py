"""The live stream: readings published over MQTT arrive as SSE events; Last-Event-ID resumes; a stale id resets."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx

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


async def take(gen, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    async for chunk in gen:
        if chunk.startswith("id:") or chunk.startswith("event:"):
            out.append(chunk)
        if len(out) >= n:
            break
    return out


def test_resume_with_last_event_id_and_reset_on_stale_id() -> None:
    async def scenario() -> None:
        hub = EventHub(capacity=3, boot="B")
        hub.bind(asyncio.get_running_loop())
        for i in range(3):
            hub.publish("reading", {"n": i})
        got = await take(stream(hub, "B-1"), 2)
        assert [parse_sse(c)[0]["id"] for c in got] == ["B-2", "B-3"]
        for i in range(3, 6):
            hub.publish("reading", {"n": i})
        stale = await take(stream(hub, "B-1"), 1)
        assert parse_sse(stale[0])[0]["event"] == "reset"
        other_boot = await take(stream(hub, "A-5"), 1)
        assert parse_sse(other_boot[0])[0]["event"] == "reset"
        live = stream(hub, None)
        task = asyncio.ensure_future(take(live, 1))
        await asyncio.sleep(0.05)
        hub.publish("alert", {"id": "x"})
        (chunk,) = await asyncio.wait_for(task, 2)
        assert parse_sse(chunk)[0] == {"id": "B-7", "event": "alert", "data": '{"id":"x"}'}

    asyncio.run(scenario())


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
    assert json.loads(received[0]["data"])["level_m"] == 6.66
    assert httpx.get(f"{base}/api/v1/stream", params={"types": "weather"}).status_code == 400
