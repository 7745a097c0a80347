"""A multipart/form-data body (RFC 7578) for the channels that upload a file with their fields (stdlib only)."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FilePart:
    """A file field: its file name, media type and bytes."""

    filename: str
    content_type: str
    data: bytes


def _quoted(value: str) -> str:
    """A header parameter value: quotes and line breaks escaped as browsers do (RFC 7578 §4.2)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def form_data(fields: Mapping[str, str], files: Mapping[str, FilePart]) -> tuple[bytes, str]:
    """The body and its Content-Type header value: text fields (UTF-8) first, then the files."""
    boundary = f"----TichWatch{secrets.token_hex(16)}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n'
                     f"Content-Type: text/plain; charset=utf-8\r\n\r\n".encode() + value.encode("utf-8") + b"\r\n")
    for name, f in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"; '
                     f'filename="{_quoted(f.filename)}"\r\nContent-Type: {f.content_type}\r\n\r\n'.encode()
                     + f.data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
