"""Playback bound to the verdict: short-lived links to an approved upload's stored source and
renditions, given only while it is approved and its tenant in good standing.

With an S3 destination the links are presigned GETs: one handed out keeps working until it
expires (`ttl`), whatever happens after. With the local destination they point back at the
gateway, signed, and each fetch checks the upload and the account again."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

from gateway.domain.errors import PlaybackRefused
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import StoredObjects, Uploads
from gateway.domain.ports.storage import ObjectStore
from gateway.domain.states import UploadState
from gateway.domain.uploads import UploadRecord

# States of an upload whose verdict is approved and whose source is in the destination.
PLAYABLE = frozenset(
    {UploadState.STORED, UploadState.TRANSCODING, UploadState.DELIVERED, UploadState.RELEASED}
)


class PlaybackService:
    def __init__(
        self,
        *,
        uploads: Uploads,
        stored: StoredObjects,
        store: ObjectStore,
        clock: Clock,
        ttl: dt.timedelta,
        signing_key: bytes,
    ) -> None:
        self._uploads = uploads
        self._stored = stored
        self._store = store
        self._clock = clock
        self.ttl = ttl
        self._key = signing_key  # for links served by this gateway (local destination)

    def check_playable(self, upload: UploadRecord) -> None:
        if upload.state not in PLAYABLE:
            reason = {
                UploadState.REJECTED: "it was blocked",
                UploadState.REVIEW: "it is waiting for a human review",
                UploadState.PURGED: "it was purged",
            }.get(upload.state, f"it is {upload.state.value}, not stored after approval")
            raise PlaybackRefused(f"no playback: {reason}", clause="3.1.10.3")

    async def links(self, upload: UploadRecord) -> dict[str, Any]:
        self.check_playable(upload)
        view = await self._stored.view(upload.id)
        objects = [o for o in [view["stored_object"], *view["renditions"]] if o is not None]
        expires_at = self._clock.now() + self.ttl
        seconds = int(self.ttl.total_seconds())
        links = []
        for found in objects:
            url = self._store.presign(found["key"], seconds)
            if url is None:
                url = self._local_url(upload.id, found["name"], expires_at)
            links.append({"name": found["name"], "url": url, "size": found["size"]})
        return {"upload_id": upload.id, "expires_at": expires_at.isoformat(), "links": links}

    def _local_url(self, upload_id: str, name: str, expires_at: dt.datetime) -> str:
        expires = int(expires_at.timestamp())
        signature = self._sign(upload_id, name, expires)
        return f"/v1/playback/{upload_id}/{name}?expires={expires}&sig={signature}"

    def _sign(self, upload_id: str, name: str, expires: int) -> str:
        message = f"{upload_id}/{name}/{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    async def local_file(
        self, upload_id: str, name: str, expires: int, signature: str
    ) -> tuple[UploadRecord, Path]:
        """The file a gateway-served link names, once its signature and expiry check out;
        the caller then checks the tenant's standing."""
        # As bytes: compare_digest raises TypeError on non-ASCII text (a 500, not a 403).
        expected = self._sign(upload_id, name, expires).encode()
        valid = hmac.compare_digest(signature.encode(), expected)
        if not valid or self._clock.now().timestamp() >= expires:
            raise PlaybackRefused("the playback link is not valid or has expired")
        upload = await self._uploads.get_internal(upload_id)
        if upload is None:
            raise PlaybackRefused("the playback link is not valid or has expired")
        self.check_playable(upload)  # a later block stops the old links too
        copy = await self._stored.get(upload_id, name)
        path = None if copy is None else self._store.local_path(copy.key)
        if path is None:
            raise PlaybackRefused("the playback link is not valid or has expired")
        return upload, path
