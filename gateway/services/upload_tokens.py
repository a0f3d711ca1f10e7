"""Direct-upload tokens (domain/upload_tokens.py): minted by a tenant's backend with its API
key, used by its end users' tus clients in place of the key, for one upload."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.domain import upload_tokens
from gateway.domain.errors import TokenInvalid, UploadNotFound
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.keys import Keys, TokenUses
from gateway.domain.principals import KeyRecord, Principal, Role
from gateway.domain.states import UploadState
from gateway.domain.upload_tokens import UploadToken


class UploadTokenService:
    def __init__(
        self, *, keys: Keys, uses: TokenUses, clock: Clock, default_ttl: dt.timedelta
    ) -> None:
        self._keys = keys
        self._uses = uses
        self._clock = clock
        self.default_ttl = default_ttl  # a token's life, and what each refresh gives it

    async def issue(
        self, principal: Principal, max_size: int, metadata: dict[str, str], ttl: dt.timedelta
    ) -> dict[str, Any]:
        record = await self._key(principal.key_id)
        token = UploadToken(
            tenant_id=principal.tenant_id,
            key_id=principal.key_id,
            expires_at=self._clock.now() + min(ttl, upload_tokens.MAX_TTL),
            max_size=max_size,
            metadata=metadata,
        )
        return self._json(token, record)

    async def refresh(self, text: str) -> dict[str, Any]:
        """A new expiry for a token still valid (so a long upload outlives the first), while
        the account may be served and the token's upload, if it made one, is receiving: a
        leaked token must not keep HEAD and DELETE on a finished upload by refreshing."""
        token, record = await self.verify(text)
        now = self._clock.now()
        record.account.check_allows_service(now)  # clause 7.3.3.1: suspended, no refresh
        state = await self._uses.upload_state_of(token.token_id)
        if state is not None and state != UploadState.RECEIVING.value:
            raise TokenInvalid("the upload token's upload is complete: it cannot be refreshed")
        return self._json(token.refreshed(now, self.default_ttl), record)

    async def verify(self, text: str) -> tuple[UploadToken, KeyRecord]:
        """The grant, checked: signature, expiry, and the issuing key not revoked."""
        record = await self._key(upload_tokens.key_id_of(text))
        token = upload_tokens.decode(text, record.signing_key, self._clock.now())
        if token.tenant_id != record.tenant_id:
            raise TokenInvalid("the upload token is not valid")
        return token, record

    async def principal(self, text: str) -> tuple[Principal, UploadToken, KeyRecord]:
        token, record = await self.verify(text)
        return Principal(record.tenant_id, record.key_id, Role.UPLOADER), token, record

    async def check_upload(self, token: UploadToken, upload_id: str) -> None:
        """A token reaches only the upload it created: any other id is a 404, as for a
        key of another tenant (nothing is revealed)."""
        if await self._uses.upload_of(token.token_id) != upload_id:
            raise UploadNotFound("no such upload")

    async def _key(self, key_id: str) -> KeyRecord:
        record = await self._keys.find_key(key_id)
        if record is None:  # unknown or revoked: its tokens die with it
            raise TokenInvalid("the upload token is not valid")
        return record

    @staticmethod
    def _json(token: UploadToken, record: KeyRecord) -> dict[str, Any]:
        return {
            "token": upload_tokens.encode(token, record.signing_key),
            "expires_at": token.expires_at.isoformat(),
            "max_size": token.max_size,
            "metadata": token.metadata,
        }
