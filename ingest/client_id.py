"""The service's MQTT client id: the configured one, else a random one made at first start and kept in the data dir.

The client id keys the broker's persistent session (the QoS 1 readings queued while the service is away). A fixed,
published default would let any client that may connect take the session over (the broker disconnects the service)
or wipe it (connect with a clean start). A random id kept beside the database is stable across restarts and known
only to the service; the shipped broker configuration additionally binds client ids to user names
(`use_username_as_clientid`), see docs/gateway-security.md.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from tichwatch.config.schema import MQTT_CLIENT_ID, Settings

CLIENT_ID_FILE = "mqtt-client-id"
"""File in the data directory holding the generated client id (one line)."""
GENERATED_PREFIX = "tichwatch"
"""Generated ids are this prefix and 14 random hex digits: 23 characters of 0-9 a-z, which every MQTT 3.1.1 broker
must accept, with 56 random bits."""


def new_client_id() -> str:
    """A fresh random client id."""
    return GENERATED_PREFIX + secrets.token_hex(7)


def stored_client_id(data_dir: Path) -> str:
    """The client id kept in `data_dir`, made (and written, mode 0600) when there is none yet.

    ValueError naming the file when it holds something that is not a client id."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CLIENT_ID_FILE
    if not path.exists():
        tmp = data_dir / f".{CLIENT_ID_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(new_client_id() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and never replaces an id another process wrote first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not re.fullmatch(MQTT_CLIENT_ID, text):
        raise ValueError(f"{path} must hold the service's MQTT client id (1-64 characters of A-Z a-z 0-9 _ . -); "
                         "delete it to have a new one made (the broker's queued messages for the old id are then "
                         "not delivered)")
    return text


def with_service_client_id(settings: Settings) -> Settings:
    """`settings` with mqtt.client_id set: the configured one, else the one kept in store.data_dir."""
    if settings.mqtt.client_id:
        return settings
    client_id = stored_client_id(Path(settings.store.data_dir))
    return settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"client_id": client_id})})
