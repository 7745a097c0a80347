"""Public URLs of bulletins, their figures and their files (one place, so links never drift)."""
from __future__ import annotations


def bulletin_url(public_url: str, bulletin_id: str) -> str:
    """The bulletin's public JSON document."""
    return f"{public_url.rstrip('/')}/api/v1/bulletins/{bulletin_id}"


def figure_url(public_url: str, bulletin_id: str, key: str) -> str:
    """Permalink of a cited figure that is not a reading: the API returns exactly that figure."""
    return f"{bulletin_url(public_url, bulletin_id)}/figures/{key}"


def bulletin_links(public_url: str, bulletin_id: str, audio_format: str) -> dict[str, str]:
    """URLs of the bulletin and its texts, pictures and audio."""
    base = bulletin_url(public_url, bulletin_id)
    return {"self": base, "text_vi": f"{base}.txt?lang=vi", "text_en": f"{base}.txt?lang=en",
            "chart": f"{base}/chart.png", "card": f"{base}/card.png", "card_en": f"{base}/card.png?lang=en",
            "audio": f"{base}/audio.{audio_format}"}
