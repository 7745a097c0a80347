"""Gateways against a real Mosquitto set up as docs/mosquitto documents: TLS, a user per gateway, the generated ACL."""
from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.ingest.security.tls_broker import DOCS, PASSWORDS, TlsBroker, TlsClient, connected
from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.ingest.gateway_auth import GatewayVerifier

T = Topics()


@pytest.fixture
def tls_service(tls_broker: TlsBroker) -> Iterator[Service]:
    """The service connected to the TLS broker as its own user."""
    svc = Service(tls_broker.settings)
    svc.start()
    assert svc.mqtt.connected.wait(10), f"service did not connect: {svc.readiness().detail}"
    yield svc
    svc.stop()


def test_a_gateway_publishes_only_its_own_stations_and_cameras(tls_broker: TlsBroker, tls_service: Service) -> None:
    gw = connected(tls_broker, "gw-a", "gw-a-1")
    now = time.time()
    try:
        refused = [gw.client.publish(T.reading("st2"), encode_reading(now - 5, 5.0), qos=1),
                   gw.client.publish(T.frame("st2"), b"\xff\xd8", qos=1)]
        allowed = gw.client.publish(T.reading("st1"), encode_reading(now - 4, 5.1), qos=1)
        for info in [*refused, allowed]:
            info.wait_for_publish(5)
        wait_for(lambda: tls_service.store.count_readings("st1") == 1)
        wait_for(lambda: len(gw.pubacks) == 3)
        assert [gw.pubacks[i.mid] for i in refused] == ["Not authorized", "Not authorized"]
        time.sleep(0.3)  # anything that slipped through would have arrived by now
        assert tls_service.store.count_readings("st2") == 0
    finally:
        gw.close()


def test_only_the_service_publishes_service_topics(tls_broker: TlsBroker, tls_service: Service) -> None:
    gw = connected(tls_broker, "gw-b", "gw-b-1")
    reader = connected(tls_broker, "ops", "ops-1")
    try:
        for topic in (T.status, T.alert("a-1"), "tich/v1/deadletter/water/st2/reading"):
            gw.client.publish(topic, b"forged", qos=1, retain=True).wait_for_publish(5)
        wait_for(lambda: len(gw.pubacks) == 3)
        assert set(gw.pubacks.values()) == {"Not authorized"}
        reader.client.subscribe([("tich/v1/alerts/#", 1), (T.status, 1), ("tich/v1/deadletter/#", 1),
                                 ("tich/v1/water/#", 1)])
        wait_for(lambda: (T.status, b"online") in reader.received)  # the service's retained birth message
        gw.client.publish(T.reading("st2"), encode_reading(time.time(), 5.0), qos=1).wait_for_publish(5)
        wait_for(lambda: tls_service.store.count_readings("st2") == 1)
        time.sleep(0.2)
        assert reader.received == [(T.status, b"online")]  # nothing forged, and readers cannot read gateway topics
    finally:
        gw.close()
        reader.close()


def test_wrong_credentials_plain_tcp_and_unknown_ca_are_refused(tls_broker: TlsBroker) -> None:
    for user, password in [("gw-a", PASSWORDS["gw-b"]), ("gw-a", "wrong"), ("nobody", "x"), (None, None)]:
        client = TlsClient(tls_broker, user, password, "bad-1")
        assert client.connect() == "Not authorized", user
        client.close()
    plain = TlsClient(tls_broker, "gw-a", PASSWORDS["gw-a"], "plain-1", tls=False)
    assert plain.connect(timeout_s=2) == "no CONNACK"
    plain.close()
    foreign_ca = TlsClient(tls_broker, "gw-a", PASSWORDS["gw-a"], "ca-1",
                           ca_file=tls_broker.etc / "server.crt")  # any certificate other than our CA's
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        foreign_ca.connect()


def test_the_service_with_a_wrong_password_says_so_without_logging_it(
        tls_broker: TlsBroker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(tls_broker.settings.mqtt.password_env, PASSWORDS["gw-a"])
    svc = Service(tls_broker.settings)
    svc.start()
    try:
        wait_for(lambda: svc.mqtt.auth_failed)
        assert svc.readiness().detail == "MQTT: Not authorized"
    finally:
        svc.stop()
    assert not any(p in caplog.text for p in PASSWORDS.values())
    assert "TICHWATCH_MQTT_PASSWORD" in caplog.text  # the log names where the password comes from, not what it is


def test_the_documented_signing_recipe_publishes_what_the_verifier_accepts(tls_broker: TlsBroker) -> None:
    key = "gw-a-hmac-key-0f9e8d7c6b5a4f3e"
    service = connected(tls_broker, "tichwatch", "svc-reader")
    try:
        service.client.subscribe(T.reading("st1"), qos=1)
        time.sleep(0.2)
        payload = encode_reading(time.time() - 5, 5.25).decode()
        subprocess.run(["bash", str(DOCS / "publish-signed.sh"), T.reading("st1"), payload, "-h", "127.0.0.1",
                        "-p", str(tls_broker.proc.port), "--cafile", str(tls_broker.etc / "ca.crt"), "-u", "gw-a",
                        "-P", PASSWORDS["gw-a"]], env={"PATH": "/usr/bin:/bin", "TICHWATCH_KEY": key}, check=True,
                       capture_output=True, timeout=20)
        wait_for(lambda: service.received)
    finally:
        service.close()
    verifier = GatewayVerifier(tls_broker.settings, {"gw-a": key.encode()})
    (topic, body), props = service.received[0], service.user_properties[0]
    assert (topic, body.decode()) == (T.reading("st1"), payload) and set(props) == {"sig", "sig_ts", "nonce"}
    assert verifier.verify(topic, body, props, time.time()) is None
    tampered = body.replace(b"5.25", b"9.25")
    assert verifier.verify(topic, tampered, props, time.time()) is not None
