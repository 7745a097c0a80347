"""Several communes in one deployment (one process, one listener, one broker and one database): what their settings
must keep apart, checked before anything starts (README: Several communes)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from tichwatch.config.schema import Settings


def sharing_problems(communes: Sequence[Settings], database: str | None) -> list[str]:
    """Why these communes cannot run side by side in one process (empty when they can): one listener for all, and
    each its own host name, data directory, MQTT topic prefix, unsubscribe-link key and, on PostgreSQL (`database`
    is the URL of TICHWATCH_DATABASE_URL, None when unset: SQLite in each data directory), schema."""
    problems: list[str] = []
    if database is not None and database.startswith("sqlite"):
        problems.append("TICHWATCH_DATABASE_URL names one SQLite file for every commune: leave it unset (each commune "
                        "its own file in its data directory) or use PostgreSQL")
    listeners = {(c.http.host, c.http.port) for c in communes}
    if len(listeners) > 1:
        problems.append("every commune must give the same http.host and http.port (one listener); got "
                        f"{sorted(listeners)}")
    keys: list[tuple[str, Callable[[Settings], object]]] = [
        ("http.public_url host", lambda c: (urlsplit(c.http.public_url).hostname or "").rstrip(".").lower()),
        ("store.data_dir", lambda c: str(c.store.data_dir.resolve())),
        ("mqtt.topic_prefix", lambda c: c.mqtt.topic_prefix),
        ("mqtt.client_id", lambda c: c.mqtt.client_id),
        ("subscriptions.link_secret_env (one commune's unsubscribe links would work at another's)",
         lambda c: c.subscriptions.link_secret_env)]
    for what, key in keys:
        seen: dict[object, str] = {}
        for c in communes:
            value = key(c)
            if value in (None, "", ()):
                if what == "http.public_url host":
                    problems.append(f"{c.commune}: http.public_url must name the host residents reach it at")
                continue
            if value in seen:
                problems.append(f"{c.commune} and {seen[value]} share their {what} ({value}): each needs its own")
            seen[value] = c.commune
    if database is not None and database.startswith("postgresql"):
        schemas = [c.store.database_schema for c in communes]
        if None in schemas:
            problems.append("on PostgreSQL every commune needs store.database_schema (its tables apart from the "
                            "others)")
        elif len(set(schemas)) < len(schemas):
            problems.append(f"store.database_schema must differ between communes; got {schemas}")
    return problems
