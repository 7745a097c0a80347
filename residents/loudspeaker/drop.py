"""The drop folder of a loudspeaker receiver (mode `folder`): each package as `<folder>/<package id>/` holding
`package.json`, `audio.mp3` and `text.txt`, then `.ready` — the vendor's software takes a package folder only once its
`.ready` marker is there, and ignores names that start with a dot (the folders being written).

Atomic: the files are written and flushed to disk in `<folder>/.<package id>.tmp-<random>/`, which is renamed to
`<package id>` (one step on the same file system), and only then is the marker written (itself through a temporary
name). A package already marked ready is not written again (a retry after a lost answer); a folder renamed but not
yet marked (a crash in between) gets its marker. Every OSError (folder missing or unwritable, disk full) is left to
the caller, which counts it retryable; the temporary folder is removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path

READY = ".ready"
"""The marker written last in a package folder."""


def write_file(path: Path, data: bytes) -> None:
    """Write a file and flush it to disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def drop_package(folder: Path, package_id: str, files: Mapping[str, bytes]) -> bool:
    """Write a package into the drop folder; True when written now, False when it was there and ready already."""
    final = folder / package_id
    if (final / READY).exists():
        return False
    if not folder.is_dir():
        raise FileNotFoundError(f"drop folder {folder} does not exist")
    if not final.exists():
        tmp = folder / f".{package_id}.tmp-{secrets.token_hex(4)}"
        try:
            tmp.mkdir()
            for name, data in files.items():
                write_file(tmp / name, data)
            _sync_dir(tmp)
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    marker = {"id": package_id, "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
    pending = final / f"{READY}.tmp"
    write_file(pending, json.dumps(marker).encode())
    os.replace(pending, final / READY)
    _sync_dir(final)
    _sync_dir(folder)
    return True
