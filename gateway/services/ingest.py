"""The ingest service: tus semantics over the upload repository and the staging store.

The HTTP layer parses headers and hands over a stream of body chunks; this module owns the
rules: licence pre-flight before any byte is stored, one writer per upload, an offset moved
only after its bytes are durable, and bytes that arrived before a disconnect kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from gateway.domain.errors import (
    Conflict,
    GatewayError,
    Gone,
    LicenceRejected,
    OffsetMismatch,
    QuotaExceeded,
    UploadComplete,
    UploadNotFound,
    UploadNotTerminable,
    UploadOnOtherInstance,
)
from gateway.domain.licences import LicenceRules, check_upload_licence
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.locking import Locker
from gateway.domain.ports.persistence import LicenceRegistry, UnitOfWork, Uploads
from gateway.domain.ports.storage import StagingStore
from gateway.domain.principals import Principal
from gateway.domain.states import TERMINABLE_STATES, UploadState
from gateway.domain.uploads import Admission, UploadRecord
from gateway.services.body_appender import BodyAppender
from gateway.services.body_receiver import Body
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics
from gateway.services.quotas import QuotaService
from gateway.services.transitions import move
from gateway.services.upload_sweeper import UploadSweeper

logger = logging.getLogger(__name__)

_GONE_STATES = frozenset({UploadState.EXPIRED, UploadState.TERMINATED, UploadState.PURGED})


class IngestService:
    def __init__(
        self,
        *,
        uploads: Uploads,
        licences: LicenceRegistry,
        staging: StagingStore,
        locker: Locker,
        unit_of_work: UnitOfWork,
        rules: LicenceRules,
        clock: Clock,
        metrics: Metrics,
        max_size: int,
        expiry: dt.timedelta,
        write_batch_bytes: int,
        checkpoint_bytes: int = 0,
        checkpoint_s: float = 0.0,
        node: str | None = None,
        quotas: QuotaService | None = None,
        min_patch_bytes: int = 0,
    ) -> None:
        self._uploads = uploads
        self._licences = licences
        self._staging = staging
        self._rules = rules
        self._clock = clock
        self._metrics = metrics
        self.max_size = max_size
        self._expiry = expiry
        self._locker = locker
        self._uow = unit_of_work
        # Local staging: this node's name, recorded on each upload it stages (None: the
        # staging store is reachable from every node).
        self._node = node
        self._quotas = quotas  # fair use (clause 3.1.3.6); None: unlimited (tools, tests)
        self.appender = BodyAppender(
            uploads=uploads, staging=staging, clock=clock, metrics=metrics, expiry=expiry,
            write_batch_bytes=write_batch_bytes, checkpoint_bytes=checkpoint_bytes,
            checkpoint_s=checkpoint_s, quotas=quotas, min_patch_bytes=min_patch_bytes,
        )  # fmt: skip
        self.sweeper = UploadSweeper(
            uploads=uploads, staging=staging, unit_of_work=unit_of_work, clock=clock,
            metrics=metrics, node=node,
        )  # fmt: skip

    async def create(
        self,
        principal: Principal,
        length: int,
        metadata: dict[str, str],
        body: Body | None,
        token_id: str | None = None,
    ) -> UploadRecord:
        """Check the licence before any byte is stored, record the upload counted in against
        the tenant's limits (and spending its token) in one transaction, then take a
        creation-with-upload body as a PATCH at offset 0 would be taken (a slot, metered)."""
        now = self._clock.now()
        licence_id = await self._check_licence(principal, metadata, now)
        limits = None if self._quotas is None else await self._quotas.limits(principal.tenant_id)
        upload_id = uuid.uuid4().hex
        state = await self._staging.create(upload_id)
        failpoint("ingest.staging_created")  # no row yet: an orphan nobody acknowledged
        try:
            upload = await asyncio.shield(
                self._uploads.create(
                    upload_id=upload_id,
                    tenant_id=principal.tenant_id,
                    length=length,
                    metadata=metadata,
                    licence_id=licence_id,
                    now=now,
                    expires_at=now + self._expiry,
                    actor=principal.actor,
                    staged_on=self._node,
                    staging_state=state,
                    admission=Admission(limits, token_id),
                )
            )
        except Exception as exc:
            # Never acknowledged: its staged bytes would be an orphan nothing sweeps.
            await self._staging.delete(upload_id)
            if isinstance(exc, QuotaExceeded) and self._quotas is not None:
                self._quotas.note_refusal(exc)
            raise
        failpoint("ingest.created_not_answered")
        self._metrics.uploads_created.inc()
        logger.info("upload.created", extra={"upload_id": upload_id, "length": length})
        if upload.state == UploadState.RECEIVED:
            await self.appender.count_received(upload, 0)
        if body is None:
            return upload
        try:
            return await self.appender.append(principal, upload, 0, body)
        except QuotaExceeded:
            # Created, its body refused or ended at a limit: 201 with the offset kept, and
            # the client's next PATCH hears the 429 and its Retry-After (an error here would
            # make a tus client create the upload again, leaving this one open).
            return await self.get(principal, upload_id)
        except GatewayError as exc:
            exc.headers["Location"] = f"/files/{upload_id}"  # created; the body stopped short
            raise

    async def _check_licence(
        self, principal: Principal, metadata: dict[str, str], now: dt.datetime
    ) -> int:
        held = await self._licences.held_by(principal.tenant_id)
        try:
            accepted = check_upload_licence(
                self._rules, metadata, [lic for _, lic in held], now.date()
            )
        except LicenceRejected as exc:
            self._metrics.licence_rejections.labels(code=exc.code).inc()
            raise
        return next(i for i, lic in held if lic is accepted)

    async def get_any_state(self, principal: Principal, upload_id: str) -> UploadRecord:
        """The tenant's upload in whatever state; 404 for unknown and other tenants' ids alike.

        An incomplete upload found past its deadline is expired here, before the sweeper.
        """
        upload = await self._uploads.get(upload_id, principal.tenant_id)
        if upload is None:
            raise UploadNotFound("no such upload")
        if upload.state == UploadState.RECEIVING and self.sweeper.is_past_deadline(upload):
            await self.sweeper.expire(upload.id, "expiry-check")
            return await self.get_any_state(principal, upload_id)
        return upload

    async def get(self, principal: Principal, upload_id: str) -> UploadRecord:
        """The tenant's upload as tus sees it: 410 once expired, terminated or purged."""
        upload = await self.get_any_state(principal, upload_id)
        if upload.state in _GONE_STATES:
            raise Gone(f"the upload is {upload.state.value}", code=f"upload_{upload.state.value}")
        return upload

    async def write(
        self, principal: Principal, upload_id: str, offset: int, body: Body
    ) -> UploadRecord:
        """Append one PATCH body at `offset`; returns the upload with its new offset."""
        async with self._locker.hold(principal.tenant_id, upload_id):
            upload = await self.get(principal, upload_id)
            if upload.state != UploadState.RECEIVING:
                raise UploadComplete("the upload is already complete")
            self._check_staged_here(upload)
            if offset != upload.offset:
                raise OffsetMismatch(
                    f"Upload-Offset {offset} does not match the upload's offset {upload.offset}",
                    headers={"Upload-Offset": str(upload.offset)},
                )
            return await self.appender.append(principal, upload, offset, body)

    def _check_staged_here(self, upload: UploadRecord) -> None:
        """Local staging: refuse, before a byte is read, an upload whose bytes another
        instance's disk holds; this one could never join new bytes to them."""
        if upload.staged_on is not None and upload.staged_on != self._node:
            self._metrics.misdirected_writes.inc()
            raise UploadOnOtherInstance(
                "this upload's earlier bytes are staged on another gateway instance: resume "
                "it there (a deployment with VODGATE_STAGING=s3 takes any instance)"
            )

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        async with self._locker.hold(principal.tenant_id, upload_id):
            upload = await self.get(principal, upload_id)
            if upload.state == UploadState.RECEIVING:
                self._check_staged_here(upload)  # its staged bytes are deleted here
            if upload.state not in TERMINABLE_STATES:
                raise UploadNotTerminable(
                    f"the upload is {upload.state.value}; only the pipeline may release it now"
                )
            async with self._uow.begin() as tx:
                moved = await move(
                    tx,
                    upload_id,
                    upload.state,
                    UploadState.TERMINATED,
                    self._clock.now(),
                    principal.actor,
                    "terminated_by_client",
                )
            if not moved:
                raise Conflict("the upload changed while this request ran")
            await self._staging.delete(upload_id)
            self._metrics.uploads_terminated.inc()
