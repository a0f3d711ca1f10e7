"""A verified copy in an object store: what the delivery records and the receipts cite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredCopy:
    key: str
    size: int
    etag: str
    sha256: str

    def receipt_entry(self, name: str) -> dict[str, Any]:
        return {"name": name, "key": self.key, "size": self.size, "sha256": self.sha256}
