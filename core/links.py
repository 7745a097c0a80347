"""Every public URL the service hands out, built in one place so links never drift from the routes.

Each function takes the deployment's `http.public_url`; an empty one gives the path alone (what the dashboard's own
documents use, relative to the page).
"""
from __future__ import annotations

from tichwatch.core.samples import Reading
from tichwatch.core.timefmt import iso_utc

API_PREFIX = "/api/v1"
"""Where the versioned HTTP API is mounted."""
FEEDS_PREFIX = "/feeds"
"""Where the CAP and Atom feeds are mounted."""
ACK_PATH = f"{API_PREFIX}/ack/"
"""Where acknowledge links point (the signed token follows)."""


def _root(public_url: str) -> str:
    return public_url.rstrip("/")


def _api(public_url: str) -> str:
    return f"{_root(public_url)}{API_PREFIX}"


def reading_permalink(public_url: str, reading: Reading) -> str:
    """Permalink: the URL that returns exactly this reading, with its time and station."""
    return f"{_api(public_url)}/stations/{reading.station_id}/readings/{iso_utc(reading.ts)}"


def alert_page_url(public_url: str, alert_id: str) -> str:
    """The alert's page for people."""
    return f"{_root(public_url)}/alerts/{alert_id}"


def ack_url(public_url: str, token: str) -> str:
    """The one-click acknowledge link carrying a signed token."""
    return f"{_root(public_url)}{ACK_PATH}{token}"


def evidence_url(public_url: str, evidence_id: int) -> str:
    """The evidence snapshot of a dust detection."""
    return f"{_api(public_url)}/evidence/{evidence_id}.jpg"


def camera_snapshot_url(public_url: str, camera_id: str) -> str:
    """A camera's latest frame."""
    return f"{_api(public_url)}/cameras/{camera_id}/latest.jpg"


def bulletin_url(public_url: str, bulletin_id: str) -> str:
    """The bulletin's public JSON document."""
    return f"{_api(public_url)}/bulletins/{bulletin_id}"


def figure_url(public_url: str, bulletin_id: str, key: str) -> str:
    """Permalink of a cited figure that is not a reading: the API returns exactly that figure."""
    return f"{bulletin_url(public_url, bulletin_id)}/figures/{key}"


def bulletin_links(public_url: str, bulletin_id: str, audio_format: str) -> dict[str, str]:
    """URLs of the bulletin and its texts, pictures and audio."""
    base = bulletin_url(public_url, bulletin_id)
    return {"self": base, "text_vi": f"{base}.txt?lang=vi", "text_en": f"{base}.txt?lang=en",
            "chart": f"{base}/chart.png", "card": f"{base}/card.png", "card_en": f"{base}/card.png?lang=en",
            "audio": f"{base}/audio.{audio_format}"}


def cap_message_url(public_url: str, message_id: str) -> str:
    """A CAP 1.2 message of a public alert."""
    return f"{_root(public_url)}{FEEDS_PREFIX}/cap/{message_id}.xml"


def atom_feed_url(public_url: str, which: str) -> str:
    """An Atom feed (`alerts` or `bulletins`)."""
    return f"{_root(public_url)}{FEEDS_PREFIX}/{which}.atom"
