"""The Mosquitto ACL file of a deployment, generated from its settings: each gateway may publish only its own topics.

The service user alone publishes the service topics (status, alerts, dead letters) and reads the gateways' topics;
readers may read alerts, the status and dead letters; everything else is denied (Mosquitto denies what no line grants).
"""
from __future__ import annotations

from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics


def mosquitto_acl(settings: Settings) -> str:
    """The text of the broker's `acl_file` for these settings; ValueError when the service has no MQTT user name."""
    service_user = settings.mqtt.username
    auth = settings.gateway_auth
    if not service_user:
        raise ValueError("mqtt.username must be set: the ACL grants the service topics to the service's user")
    if service_user in {g.username for g in auth.gateways} | set(auth.readers):
        raise ValueError(f"mqtt.username {service_user!r} is also a gateway or reader in gateway_auth")
    auth.check_subjects([s.id for s in settings.stations], [c.id for c in settings.cameras],
                        [g.id for g in settings.rain_gauges])
    t = Topics(settings.mqtt.topic_prefix)
    out = ["# Mosquitto ACL for TichWatch, generated from the deployment settings (gateway_auth): regenerate it rather",
           "# than editing it, then reload the broker (systemctl reload mosquitto). What no line grants is denied.",
           "# Rules are per user, and so is the session: the broker makes each client's id its user name",
           "# (use_username_as_clientid in tichwatch.conf), so every gateway, reader and the service needs a user.",
           "",
           "# The TichWatch service: reads the gateways' topics and alone publishes the service topics.",
           f"user {service_user}"]
    out += [f"topic read {f}" for f in t.subscriptions]
    out += [f"topic readwrite {t.prefix}/{f}/#" for f in ("service", "alerts", "deadletter")]
    for g in auth.gateways:
        rain = f"; rain gauges {', '.join(g.rain_gauges)}" if g.rain_gauges else ""
        out += ["", f"# Gateway {g.username}: stations {', '.join(g.stations) or '-'}; cameras "
                    f"{', '.join(g.cameras) or '-'}{rain}.", f"user {g.username}"]
        out += [f"topic write {t.reading(s)}" for s in g.stations]
        out += [f"topic write {t.frame(c)}" for c in g.cameras]
        out += [f"topic write {t.rain(r)}" for r in g.rain_gauges]
    for reader in auth.readers:
        out += ["", f"# Reader {reader}: alerts, service status and dead letters.", f"user {reader}",
                f"topic read {t.alert('#')}", f"topic read {t.status}", f"topic read {t.prefix}/deadletter/#"]
    return "\n".join(out) + "\n"
