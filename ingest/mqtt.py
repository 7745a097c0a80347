"""The service's MQTT connection (paho-mqtt 2.x): persistent session, manual acknowledgement, birth and last will.

Messages are acknowledged to the broker only when the pipeline says they are committed (`ack`), so a crash before the
commit means the broker redelivers them (at-least-once end to end; the store makes redelivery harmless).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tichwatch.config.schema import MqttSettings
from tichwatch.ingest.contract import Topics

log = logging.getLogger(__name__)

AUTH_FAILURES = frozenset({"Bad user name or password", "Not authorized", "Banned", "Bad authentication method"})
"""CONNACK reasons after which retrying with the same credentials is pointless."""


@dataclass(frozen=True)
class InboundMessage:
    """A message received from the broker, with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    generation: int  # which connection delivered it: a mid is only meaningful on that connection
    received_ts: float
    user_properties: dict[str, str] = field(default_factory=dict)
    redelivered: bool = False  # the broker's DUP flag: a copy of a message it sent before


class MqttClient:
    """One paho client: connects, (re)subscribes, hands messages to `on_message` and acknowledges on request."""

    def __init__(self, settings: MqttSettings, topics: Topics, on_message: Callable[[InboundMessage], None],
                 password: str | None = None, clock: Callable[[], float] = time.time,
                 on_connected: Callable[[bool], None] | None = None):
        self.settings = settings
        self.topics = topics
        self._on_message_cb = on_message
        self._on_connected_cb = on_connected
        self._clock = clock
        self._generation = 0
        self._gen_lock = threading.Lock()
        self.connected = threading.Event()  # set once the broker has granted every subscription: ready to receive
        self._link_up = False  # the broker accepted the connection (acks may be sent), subscriptions maybe pending
        self._subscribe_mid: int | None = None
        self.auth_failed: str | None = None
        self._stopping = False
        v5 = settings.protocol == "5"
        self._v5 = v5
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if settings.username:
            self._client.username_pw_set(settings.username, password)
        if settings.tls:
            self._client.tls_set(ca_certs=str(settings.tls_ca_file) if settings.tls_ca_file else None)
        self._client.will_set(topics.status, b"offline", qos=1, retain=True)
        self._client.reconnect_delay_set(int(max(1, settings.reconnect_min_s)), int(max(1, settings.reconnect_max_s)))
        self._client.max_queued_messages_set(10000)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_subscribe = self._on_subscribe

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; paho's network thread reconnects with backoff until `stop`."""
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
            props.SessionExpiryInterval = self.settings.session_expiry_s
            props.ReceiveMaximum = self.settings.receive_maximum
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s,
                                   clean_start=False if self._v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
                                   properties=props)
        self._client.loop_start()

    def stop(self) -> None:
        """Say offline (retained), disconnect cleanly and stop the network thread."""
        self._stopping = True
        if self._link_up:
            info = self._client.publish(self.topics.status, b"offline", qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()
        self._link_up = False
        self.connected.clear()

    # -- callbacks (paho's network thread) --------------------------------------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: object, flags: paho.ConnectFlags,
                    reason: ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            text = str(reason)
            if text in AUTH_FAILURES:
                self.auth_failed = text
                log.error("MQTT broker %s:%s refused the credentials (%s); not retrying. Check the username and "
                          "the password environment variable %s.", self.settings.host, self.settings.port, text,
                          self.settings.password_env)
                client.disconnect()  # leaves loop_forever without reconnecting
            else:
                log.warning("MQTT broker %s:%s refused the connection: %s; retrying", self.settings.host,
                            self.settings.port, text)
            return
        with self._gen_lock:
            self._generation += 1
        self._link_up = True
        # Subscriptions are tracked here, not trusted to the session: re-subscribe at QoS 1 on every connect. The
        # service counts as connected only when the broker has granted them (SUBACK): before that, on a first
        # connection, a gateway's reading would find nobody subscribed and be dropped by the broker.
        _, self._subscribe_mid = client.subscribe([(topic, 1) for topic in self.topics.subscriptions])
        client.publish(self.topics.status, b"online", qos=1, retain=True)
        log.info("MQTT connected to %s:%s (session present: %s); subscribing", self.settings.host,
                 self.settings.port, flags.session_present)

    def _on_subscribe(self, client: paho.Client, userdata: object, mid: int, reason_codes: list[ReasonCode],
                      properties: Properties | None) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [f"{t}: {rc}" for t, rc in zip(self.topics.subscriptions, reason_codes) if rc.is_failure]
        if refused:  # e.g. the broker's ACL does not let the service read these topics
            log.error("MQTT broker refused subscriptions (%s); check the service account's ACL", "; ".join(refused))
        self.connected.set()
        log.info("MQTT subscribed to %d topic filters", len(reason_codes) - len(refused))
        if self._on_connected_cb:
            self._on_connected_cb(True)

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: paho.DisconnectFlags,
                       reason: ReasonCode, properties: Properties | None) -> None:
        was = self._link_up
        self._link_up = False
        self.connected.clear()
        if was and not self._stopping:
            log.warning("MQTT disconnected from %s:%s (%s); reconnecting with backoff", self.settings.host,
                        self.settings.port, reason)
        if self._on_connected_cb:
            self._on_connected_cb(False)

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        log.warning("MQTT broker %s:%s unreachable; retrying with backoff", self.settings.host, self.settings.port)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        props: dict[str, str] = {}
        if msg.properties is not None and hasattr(msg.properties, "UserProperty"):
            props = {str(k): str(v) for k, v in msg.properties.UserProperty}
        inbound = InboundMessage(msg.topic, bytes(msg.payload), msg.qos, msg.mid, self._generation, self._clock(),
                                 props, bool(msg.dup))
        try:
            self._on_message_cb(inbound)
        except Exception:  # one bad message or handler must never take the network thread down
            log.exception("message handler failed for %s", msg.topic)

    # -- operations (any thread) ------------------------------------------------------------------------------------
    def ack(self, msg: InboundMessage) -> bool:
        """Acknowledge a committed message; a message from an earlier connection is left for redelivery."""
        if msg.qos == 0 or msg.generation != self._generation or not self._link_up:
            return False
        self._client.ack(msg.mid, msg.qos)
        return True

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> paho.MQTTMessageInfo:
        """Publish (queued by paho while disconnected)."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)
