"""A small MQTT publisher as a gateway or camera would use it (simulator, replay, benchmarks)."""
from __future__ import annotations

import threading

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tichwatch.config.schema import MqttSettings


class GatewayPublisher:
    """A QoS 1 publisher that waits for the broker's acknowledgement when asked."""

    def __init__(self, settings: MqttSettings, client_id: str, username: str | None = None,
                 password: str | None = None):
        self._client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=paho.MQTTv5)
        if username:
            self._client.username_pw_set(username, password)
        if settings.tls:
            self._client.tls_set(ca_certs=str(settings.tls_ca_file) if settings.tls_ca_file else None)
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)
        self._connected = threading.Event()
        self._client.on_connect = lambda c, u, f, rc, p: self._connected.set() if not rc.is_failure else None
        self._client.on_disconnect = lambda c, u, f, rc, p: self._connected.clear()
        self._host, self._port = settings.host, settings.port

    def connect(self, timeout_s: float = 10.0) -> GatewayPublisher:
        """Connect and start the network thread; raise TimeoutError when the broker does not accept us."""
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self.close()
            raise TimeoutError(f"could not connect to the MQTT broker at {self._host}:{self._port}")
        return self

    def publish(self, topic: str, payload: bytes, qos: int = 1, user_properties: dict[str, str] | None = None,
                wait: bool = False) -> paho.MQTTMessageInfo:
        """Publish one message; with `wait`, block until the broker has it."""
        props = None
        if user_properties:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = list(user_properties.items())
        info = self._client.publish(topic, payload, qos=qos, properties=props)
        if wait:
            info.wait_for_publish(timeout=30)
        return info

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
