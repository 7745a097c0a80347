"""Client ids bound to user names on the documented broker: a gateway's credentials can neither take the service's
connection over nor wipe its persistent session, whatever client id it sends."""
from __future__ import annotations

import logging
import time

import pytest

from tests.ingest.security.tls_broker import TlsBroker, TlsClient, connected
from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading

T = Topics()


def publish_readings(gateway: TlsClient, station: str, first_ts: float, count: int) -> None:
    """QoS 1 readings, each acknowledged by the broker before the next."""
    for i in range(count):
        gateway.client.publish(T.reading(station), encode_reading(first_ts + i, 5.0), qos=1).wait_for_publish(5)


def stolen_ids(broker: TlsBroker) -> list[str]:
    """Client ids an attacker holding gw-a's credentials would try: the service's configured one, the service's user
    name (its id on a broker that binds ids to users), and gw-b's."""
    assert broker.settings.mqtt.client_id
    return [broker.settings.mqtt.client_id, broker.settings.mqtt.username or "", "gw-b", "gw-b-1"]


def test_a_gateway_with_the_service_or_another_gateways_client_id_disconnects_nobody(
        tls_broker: TlsBroker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tichwatch.ingest.mqtt")
    svc = Service(tls_broker.settings)
    svc.start()
    gw_b = None
    try:
        assert svc.mqtt.connected.wait(10), svc.readiness().detail
        gw_b = connected(tls_broker, "gw-b", "gw-b-1")
        start = time.time() - 1000
        for n, client_id in enumerate(stolen_ids(tls_broker)):
            attacker = connected(tls_broker, "gw-a", client_id)  # accepted, but under its own user name
            publish_readings(gw_b, "st2", start + 10 * n, 10)  # readings flowing while the attacker is connected
            attacker.client.publish(T.reading("st1"), encode_reading(start + n, 5.0), qos=1).wait_for_publish(5)
            attacker.close()
        wait_for(lambda: svc.store.count_readings("st2") == 40, message=lambda: str(svc.store.count_readings("st2")))
        wait_for(lambda: svc.store.count_readings("st1") == 4)  # each attacker still publishes as gw-a, nothing more
        assert svc.mqtt.connected.is_set() and gw_b.disconnects == 0
        assert "MQTT disconnected" not in caplog.text
        assert caplog.text.count("MQTT connected") == 1
    finally:
        if gw_b is not None:
            gw_b.close()
        svc.stop()


def test_a_gateway_cannot_wipe_the_service_session_while_the_service_is_away(tls_broker: TlsBroker) -> None:
    first = Service(tls_broker.settings)
    first.start()
    assert first.mqtt.connected.wait(10), first.readiness().detail  # the broker now holds its subscriptions
    first.stop()
    gw_b = connected(tls_broker, "gw-b", "gw-b-1")
    try:
        publish_readings(gw_b, "st2", time.time() - 1000, 100)  # queued in the service's session
        for client_id in stolen_ids(tls_broker)[:2]:
            for clean_start in (True, False):  # wipe it, or resume it and take its messages
                connected(tls_broker, "gw-a", client_id, clean_start=clean_start).close()
        assert gw_b.disconnects == 0
    finally:
        gw_b.close()
    back = Service(tls_broker.settings)
    back.start()
    try:
        wait_for(lambda: back.store.count_readings("st2") == 100,
                 message=lambda: f"{back.store.count_readings('st2')} of 100 queued readings reached the service")
    finally:
        back.stop()
