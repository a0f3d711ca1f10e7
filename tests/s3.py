"""The real S3 server for tests: Ceph RGW from `scripts/s3-server` (started if not running)."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from gateway.runtime.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

SCRIPT = PROJECT_ROOT / "scripts" / "s3-server"


@dataclass(frozen=True)
class S3Server:
    env: dict[str, str]  # VODGATE_S3_* as the script printed them

    @property
    def endpoint(self) -> str:
        return self.env["VODGATE_S3_ENDPOINT_URL"]

    def client(self) -> S3Client:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.env["VODGATE_S3_REGION"],
            aws_access_key_id=self.env["VODGATE_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["VODGATE_S3_SECRET_ACCESS_KEY"],
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def settings_for(self, bucket: str) -> dict[str, Any]:
        """Settings keyword arguments for a gateway whose destination is `bucket`."""
        return {
            "destination": "s3",
            "s3_endpoint_url": self.endpoint,
            "s3_region": self.env["VODGATE_S3_REGION"],
            "s3_access_key_id": self.env["VODGATE_S3_ACCESS_KEY_ID"],
            "s3_secret_access_key": self.env["VODGATE_S3_SECRET_ACCESS_KEY"],
            "s3_destination_bucket": bucket,
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        client = self.client()
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        except client.exceptions.NoSuchBucket:
            return []

    def purge_test_buckets(self) -> int:
        """Delete every bucket `new_bucket` made, with its objects and unfinished multipart
        uploads: the server keeps objects in memory, and runs must not fill it."""
        client = self.client()
        purged = 0
        for bucket in client.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if not name.startswith(TEST_BUCKET_PREFIX):
                continue
            for pending in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=name, Key=pending["Key"], UploadId=pending["UploadId"]
                )
            for key in self.keys(name):
                client.delete_object(Bucket=name, Key=key)
            client.delete_bucket(Bucket=name)
            purged += 1
        return purged

    def pause(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "pause"], check=True, timeout=30)

    def resume(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "resume"], check=True, timeout=60)


def start_s3_server() -> S3Server:
    done = subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    env = {}
    for line in done.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
    return S3Server(env)


TEST_BUCKET_PREFIX = "vg-test-"


def new_bucket() -> str:
    return f"{TEST_BUCKET_PREFIX}{uuid.uuid4().hex[:12]}"
