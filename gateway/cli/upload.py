"""`vodgate upload`: the SDK behind a progress bar. Needs no server-side state."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gateway.client import ResumeStore, UploadClient, UploadError
from gateway.runtime.settings import ClientSettings


def add_upload_command(commands: Any) -> None:
    upload = commands.add_parser(
        "upload",
        help="upload a file over tus (resumable; run it again to resume)",
        description="Upload FILE to a vodgate server. Interrupted uploads resume where they "
        "stopped when the same command runs again. Prints the upload id.",
    )
    upload.add_argument("file", type=Path)
    upload.add_argument("--server", required=True, help="gateway base URL, e.g. http://host:8080")
    upload.add_argument("--api-key", required=True)
    upload.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Upload-Metadata entry (repeat), e.g. licence_type=avsp",
    )
    upload.add_argument("--chunk-size", type=int, default=8 * 1024 * 1024, help="bytes per PATCH")
    upload.add_argument("--limit-rate", type=int, help="bytes per second (default unlimited)")
    upload.add_argument("--resume-store", type=Path, help="resume file (default ~/.cache/vodgate)")
    upload.add_argument("--no-progress", action="store_true", help="no progress bar")
    upload.add_argument("--wait", action="store_true", help="wait for the decision, print it")
    upload.add_argument("--wait-timeout", type=float, default=600.0, help="seconds (default 600)")
    upload.set_defaults(run=run_upload)


def _metadata(pairs: list[str]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"vodgate upload: --meta wants KEY=VALUE, got {pair!r}")
        metadata[key] = value
    return metadata


def run_upload(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"vodgate upload: no such file: {args.file}", file=sys.stderr)
        return 1
    client = UploadClient(
        args.server,
        args.api_key,
        chunk_size=args.chunk_size,
        resume_store=ResumeStore(args.resume_store or ClientSettings().resume_store),
        limit_rate=args.limit_rate,
    )
    size = args.file.stat().st_size
    bar = tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=args.file.name,
        disable=args.no_progress,
        file=sys.stderr,
    )

    def progress(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    try:
        upload_id = asyncio.run(client.upload(args.file, _metadata(args.meta), progress))
    except UploadError as exc:
        bar.close()
        error = {"code": exc.code, "message": exc.message, "status": exc.status}
        if exc.clause:
            error["clause"] = exc.clause
        print(json.dumps({"error": error}, ensure_ascii=False), file=sys.stderr)
        return 1
    bar.close()
    if client.resumed_from is not None:
        print(f"resumed at byte {client.resumed_from}", file=sys.stderr)
    print(upload_id)
    if args.wait:
        decision = asyncio.run(client.wait_for_decision(upload_id, args.wait_timeout))
        print(json.dumps(decision, ensure_ascii=False, indent=2))
    return 0
