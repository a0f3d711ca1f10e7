"""S3ObjectStore: an S3-compatible bucket through boto3 (blocking, so every call runs in a
worker thread). botocore's errors are translated here, at one boundary, into gateway
errors; nothing above this module imports botocore."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gateway.adapters.storage.digests import file_digests, s3_etag
from gateway.domain.errors import StorageUnavailable
from gateway.domain.ports.storage import FileDigests, StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_PART_SIZE = 16 * 1024 * 1024
# Bounded: each upload uses at most this many threads and parts in memory.
TRANSFER_THREADS = 4
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        self.bucket = bucket
        self._part_size = part_size
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            # Ceph 16 and older MinIO do not take aws-chunked trailing checksums over TLS.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=120,
            max_pool_connections=TRANSFER_THREADS * 4,
        )
        self.client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        self._transfer = TransferConfig(
            multipart_threshold=part_size,
            multipart_chunksize=part_size,
            max_concurrency=TRANSFER_THREADS,
        )

    @property
    def part_size(self) -> int:
        return self._part_size

    async def call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a boto3 call in a thread; every botocore failure becomes StorageUnavailable."""
        try:
            return await asyncio.to_thread(functools.partial(function, *args, **kwargs))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StorageUnavailable(
                f"object store refused {what}: {error.get('Code', '?')} {error.get('Message', '')}"
            ) from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"object store unreachable during {what}: {exc}") from exc

    async def prepare(self) -> None:
        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING:
                raise StorageUnavailable(f"bucket {self.bucket}: {exc}") from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"object store unreachable: {exc}") from exc
        await self.call("create bucket", self.client.create_bucket, Bucket=self.bucket)

    async def ready(self) -> None:
        await self.call(f"head bucket {self.bucket}", self.client.head_bucket, Bucket=self.bucket)

    async def put_file(self, key: str, path: Path) -> None:
        await self.call(
            f"put {key}",
            self.client.upload_file,
            str(path),
            self.bucket,
            key,
            Config=self._transfer,
        )

    async def head(self, key: str) -> StoredObject | None:
        try:
            found = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StorageUnavailable(f"object store refused head {key}: {exc}") from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"object store unreachable during head {key}: {exc}") from exc
        return StoredObject(key, found["ContentLength"], found["ETag"].strip('"'))

    def expected_etag(self, size: int, part_md5s: list[bytes], whole_md5: bytes) -> str:
        # s3transfer goes multipart at size >= threshold, even for a single part.
        return s3_etag(part_md5s, whole_md5, multipart=size >= self._part_size)

    async def digest_file(self, path: Path) -> FileDigests:
        return await asyncio.to_thread(file_digests, path, self.part_size)

    async def copy_from(self, key: str, source_bucket: str, source_key: str) -> None:
        """Server-side copy; above the part size in parts of the same size, so the copy's
        ETag equals the source's when the source went up with this part size."""
        await self.call(
            f"copy {source_key} to {key}",
            self.client.copy,
            {"Bucket": source_bucket, "Key": source_key},
            self.bucket,
            key,
            Config=self._transfer,
        )

    async def download(self, key: str, path: Path) -> None:
        await self.call(
            f"get {key}",
            self.client.download_file,
            self.bucket,
            key,
            str(path),
            Config=self._transfer,
        )

    async def delete(self, key: str) -> None:
        await self.call(f"delete {key}", self.client.delete_object, Bucket=self.bucket, Key=key)

    async def list_keys(self, prefix: str) -> list[str]:
        def list_all() -> list[str]:
            keys: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
            return keys

        return await self.call(f"list {prefix}", list_all)

    def presign(self, key: str, expires_s: int) -> str | None:
        return self.presign_get(key, expires_s)

    def local_path(self, key: str) -> Path | None:
        return None

    def presign_get(self, key: str, expires_s: int = 3600) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
        )
