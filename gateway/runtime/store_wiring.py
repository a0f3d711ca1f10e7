"""The object stores a gateway writes to: the local directory or S3 (boto3) for the
destination and the quarantine, and the multipart staging on S3. Named here, in the runtime,
like every adapter."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.adapters.storage.local_objects import LocalObjectStore
from gateway.domain.errors import StorageUnavailable
from gateway.domain.ports.storage import ObjectStore
from gateway.runtime.settings import Settings

if TYPE_CHECKING:
    from gateway.adapters.storage.s3_objects import S3ObjectStore
    from gateway.adapters.storage.s3_staging import S3StagingStore

logger = logging.getLogger(__name__)


async def prepare_stores(stores: list[ObjectStore]) -> None:
    """Create missing buckets now (uploads start in the staging bucket). An unreachable S3
    is not fatal here: /readyz says so, and what needs it answers 503 until it is back."""
    for store in stores:
        try:
            await store.prepare()
        except StorageUnavailable as exc:
            logger.warning("store.unavailable", extra={"error": exc.message[:500]})


def s3_staging(quarantine: S3ObjectStore) -> S3StagingStore:
    from gateway.adapters.storage.s3_staging import S3StagingStore

    return S3StagingStore(quarantine)


def s3_store(settings: Settings, bucket: str) -> S3ObjectStore:
    from gateway.adapters.storage.s3_objects import S3ObjectStore

    secret = settings.s3_secret_access_key
    return S3ObjectStore(
        bucket=bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=None if secret is None else secret.get_secret_value(),
        part_size=settings.s3_part_size,
    )


def build_object_store(settings: Settings) -> ObjectStore:
    if settings.destination == "s3":
        return s3_store(settings, settings.s3_destination_bucket or "")
    return LocalObjectStore(settings.objects_dir)
