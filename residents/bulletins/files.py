"""A bulletin's files in the data directory: chart and card PNGs per language (drawn when the draft is made, from
the data of that moment) and the radio audio (synthesised at publication, from the script as approved)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tichwatch.residents.bulletins.compose import Bulletin
from tichwatch.residents.pictures import card_png, chart_png
from tichwatch.residents.speech import synthesize

AUDIO_TYPES = {"ogg": "audio/ogg", "wav": "audio/wav"}
"""Media types of the audio formats."""


class BulletinFiles:
    """Files of bulletins under `<data_dir>/bulletins/<id>/`."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "bulletins"

    def path(self, bulletin_id: str, name: str) -> Path:
        """Where a bulletin's file lives (chart-vi.png, card-en.png, radio.ogg …)."""
        return self.root / bulletin_id / name

    def _write(self, bulletin_id: str, name: str, data: bytes) -> Path:
        path = self.path(bulletin_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file
        return path

    def write_pictures(self, composed: Mapping[str, Bulletin]) -> None:
        """Draw the card and (when a station has data) the chart of each language."""
        for lang, b in composed.items():
            self._write(b.id, f"card-{lang}.png", card_png(b.card))
            if b.chart is not None:
                self._write(b.id, f"chart-{lang}.png", chart_png(b.chart))

    def write_audio(self, bulletin_id: str, script: str, audio_format: str, rate_wpm: int) -> Path:
        """Synthesise the radio script (espeak-ng, voice vi) into radio.<format>."""
        return self._write(bulletin_id, f"radio.{audio_format}", synthesize(script, audio_format, rate_wpm))
