"""A Mosquitto broker set up as docs/mosquitto documents it: certificates from make-certs.sh, users from add-user.sh,
the ACL from the settings, the TLS listener and auth lines of tichwatch.conf."""
from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.support import make_settings
from tichwatch.config.schema import Settings
from tichwatch.ingest.gateway_auth_acl import mosquitto_acl
from tichwatch.tools.broker import MosquittoProcess, free_port

DOCS = Path(__file__).resolve().parents[3] / "docs" / "mosquitto"
DOCUMENTED_DIR = "/etc/mosquitto/tichwatch/"
PASSWORDS = {"tichwatch": "svc-PASSWORD-5b0e1c", "gw-a": "gwA-PASSWORD-77aa01", "gw-b": "gwB-PASSWORD-9e2d44",
             "ops": "ops-PASSWORD-31f0c2"}
"""Broker users of the tests: the service, gateway gw-a (station st1, camera cam1), gateway gw-b (st2), a reader."""
GATEWAYS = [{"username": "gw-a", "stations": ["st1"], "cameras": ["cam1"]}, {"username": "gw-b", "stations": ["st2"]}]


def make_certs(out: Path) -> None:
    """A CA and a server certificate for localhost / 127.0.0.1, made by the documented script."""
    subprocess.run(["bash", str(DOCS / "make-certs.sh"), str(out), "localhost", "IP:127.0.0.1"], check=True,
                   capture_output=True)


def add_user(passwd: Path, user: str, password: str) -> None:
    """Add a broker user with the documented script (password on stdin)."""
    subprocess.run(["bash", str(DOCS / "add-user.sh"), str(passwd), user], input=password.encode(), check=True,
                   capture_output=True)


def documented_conf(etc: Path) -> str:
    """tichwatch.conf without its `listener` line (MosquittoProcess writes one on 127.0.0.1), files under `etc`."""
    lines = [line.replace(DOCUMENTED_DIR, f"{etc}/") for line in (DOCS / "tichwatch.conf").read_text().splitlines()
             if line.strip() and not line.startswith(("#", "listener "))]
    return "\n".join(lines) + "\n"


@dataclass
class TlsBroker:
    """The running broker and the settings of a service that uses it."""

    proc: MosquittoProcess
    settings: Settings
    etc: Path


def start_tls_broker(tmp_path: Path, **overrides: object) -> TlsBroker:
    """Certificates, users, ACL and a started broker in `tmp_path`; settings point the service at it over TLS."""
    etc = tmp_path / "etc"
    make_certs(etc)
    port = free_port()
    settings = make_settings(tmp_path / "data", port, mqtt={"tls": True, "tls_ca_file": str(etc / "ca.crt"),
                                                            "username": "tichwatch"},
                             gateway_auth={"gateways": GATEWAYS, "readers": ["ops"], **overrides})
    (etc / "acl").write_text(mosquitto_acl(settings))
    for user, password in PASSWORDS.items():
        add_user(etc / "passwd", user, password)
    proc = MosquittoProcess(tmp_path / "broker", port, extra_conf=documented_conf(etc)).start()
    return TlsBroker(proc, settings, etc)


class TlsClient:
    """A paho MQTT 5 client over TLS that reports the CONNACK reason, PUBACK reasons, disconnections and what it
    receives (with the user properties)."""

    def __init__(self, broker: TlsBroker, user: str | None, password: str | None, client_id: str,
                 ca_file: Path | None = None, tls: bool = True):
        self.connack: str | None = None
        self.disconnects = 0
        self.pubacks: dict[int, str] = {}
        self.received: list[tuple[str, bytes]] = []
        self.user_properties: list[dict[str, str]] = []
        self.done = threading.Event()
        self._client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=paho.MQTTv5)
        if user is not None:
            self._client.username_pw_set(user, password)
        if tls:
            self._client.tls_set(ca_certs=str(ca_file or broker.etc / "ca.crt"))
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, str(rc))
        self._client.on_message = self._on_message
        self._port = broker.proc.port

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, rc: ReasonCode,
                    props: object) -> None:
        self.connack = str(rc)
        self.done.set()

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object, rc: ReasonCode,
                       props: object) -> None:
        if self.connack == "Success":
            self.disconnects += 1
        self.done.set()

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        self.received.append((msg.topic, bytes(msg.payload)))
        self.user_properties.append(dict(getattr(msg.properties, "UserProperty", [])))

    def connect(self, timeout_s: float = 5.0, clean_start: bool = True) -> str:
        """Connect; the CONNACK reason ('Success', 'Not authorized', ...) or 'no CONNACK'. `clean_start`: ask the
        broker to discard the session of this client id."""
        self._client.connect("127.0.0.1", self._port, clean_start=clean_start)
        self._client.loop_start()
        self.done.wait(timeout_s)
        return self.connack or "no CONNACK"

    @property
    def client(self) -> paho.Client:
        """The paho client (to publish or subscribe)."""
        return self._client

    def close(self) -> None:
        """Disconnect (not counted in `disconnects`)."""
        self.connack = "closed"
        self._client.disconnect()
        self._client.loop_stop()


def connected(broker: TlsBroker, user: str, client_id: str, clean_start: bool = True) -> TlsClient:
    """A client of `user` (password from PASSWORDS) connected with `client_id`; fails the test unless accepted."""
    client = TlsClient(broker, user, PASSWORDS[user], client_id)
    assert client.connect(clean_start=clean_start) == "Success", (user, client_id)
    return client
