"""What the channels that upload a bulletin's own media (Facebook's card photo, YouTube's video) share: which
bulletin a notification delivers, read from the outbox row (never from text a provider could echo)."""
from __future__ import annotations

import re

from tichwatch.alerts.channels.base import Notification
from tichwatch.alerts.outbox import source_of

BULLETIN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""What a bulletin id looks like (it names a folder in the data directory: nothing else is read)."""


def bulletin_of(n: Notification) -> str | None:
    """The id of the bulletin a notification delivers, or None for an alert's notification."""
    bulletin_id = source_of(n).get("bulletin_id")
    return bulletin_id if bulletin_id is not None and BULLETIN_ID.match(bulletin_id) and ".." not in bulletin_id \
        else None
