"""Where a client remembers its unfinished uploads, keyed by a fingerprint of the file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

# Bytes read from each end of the file for the fingerprint: cheap, and an edit anywhere near
# either end (or any change of size or mtime) starts a new upload instead of corrupting one.
FINGERPRINT_SAMPLE_BYTES = 1024 * 1024


def fingerprint(path: Path, server_url: str) -> str:
    stat = path.stat()
    digest = hashlib.sha256(f"{server_url}|{stat.st_size}|{stat.st_mtime_ns}|".encode())
    with path.open("rb") as file:
        digest.update(file.read(FINGERPRINT_SAMPLE_BYTES))
        if stat.st_size > FINGERPRINT_SAMPLE_BYTES:
            file.seek(max(FINGERPRINT_SAMPLE_BYTES, stat.st_size - FINGERPRINT_SAMPLE_BYTES))
            digest.update(file.read(FINGERPRINT_SAMPLE_BYTES))
    return digest.hexdigest()


class ResumeStore:
    """A small JSON file: fingerprint -> upload URL. Written atomically (rename).

    Blocking file IO: an async caller runs its methods in a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, key: str) -> str | None:
        value = self._read().get(key)
        return value if isinstance(value, str) else None

    def put(self, key: str, url: str) -> None:
        entries = self._read()
        entries[key] = url
        self._write(entries)

    def remove(self, key: str) -> None:
        entries = self._read()
        if entries.pop(key, None) is not None:
            self._write(entries)

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".resume-")
        with os.fdopen(fd, "w") as file:
            json.dump(entries, file)
        Path(tmp).replace(self.path)
