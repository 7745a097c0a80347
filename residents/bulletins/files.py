"""A bulletin's files in the data directory: chart and card PNGs per language (drawn when the draft is made, from
the data of that moment), the radio audio (synthesised at publication, from the script as approved) and a preview of
the audio of a draft's script (on request, one per bulletin, replaced when the script changes)."""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from tichwatch.residents.bulletins.compose import Bulletin
from tichwatch.residents.pictures import card_png, chart_png
from tichwatch.residents.speech import synthesize

AUDIO_TYPES = {"ogg": "audio/ogg", "wav": "audio/wav"}
"""Media types of the audio formats."""


PREVIEWS_KEPT = 3
"""Audio previews a bulletin keeps (the newest): an older one may still be streaming to a listener."""


class BulletinFiles:
    """Files of bulletins under `<data_dir>/bulletins/<id>/`."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "bulletins"
        self._speaking = threading.Lock()  # one synthesis at a time: espeak-ng and sox take a core each

    def path(self, bulletin_id: str, name: str) -> Path:
        """Where a bulletin's file lives (chart-vi.png, card-en.png, radio.ogg …)."""
        return self.root / bulletin_id / name

    def audio(self, bulletin_id: str) -> Path | None:
        """The bulletin's published radio audio (radio.<format>, any of AUDIO_TYPES), or None when it has none."""
        return next((p for fmt in AUDIO_TYPES if (p := self.path(bulletin_id, f"radio.{fmt}")).is_file()), None)

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

    def audio_preview(self, bulletin_id: str, script: str, audio_format: str, rate_wpm: int) -> Path:
        """The script spoken, for listening before publication: made once per script text (preview-<hash>.<format>),
        one synthesis at a time; the bulletin keeps its newest PREVIEWS_KEPT previews, so one being sent to a listener
        is not deleted under it by the next edit's preview."""
        digest = hashlib.sha256(f"{rate_wpm}:{script}".encode()).hexdigest()[:16]
        name = f"preview-{digest}.{audio_format}"
        with self._speaking:
            path = self.path(bulletin_id, name)
            if path.exists():
                return path
            made = self._write(bulletin_id, name, synthesize(script, audio_format, rate_wpm))
            older = sorted((p for p in made.parent.glob("preview-*") if p != made), key=lambda p: p.stat().st_mtime)
            for old in older[:max(0, len(older) - (PREVIEWS_KEPT - 1))]:
                old.unlink(missing_ok=True)
            return made
