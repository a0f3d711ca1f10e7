"""API keys as the token service sees them, and the record of each token's one upload."""

from __future__ import annotations

from typing import Protocol

from gateway.domain.principals import KeyRecord


class Keys(Protocol):
    async def find_key(self, key_id: str) -> KeyRecord | None:
        """An unrevoked key (with its tenant's standing), or None."""
        ...


class TokenUses(Protocol):
    """Which upload each token created (spent in the upload's own creation transaction)."""

    async def upload_of(self, token_id: str) -> str | None: ...

    async def upload_state_of(self, token_id: str) -> str | None:
        """The state of the upload the token created (None: it has created none)."""
        ...
