"""`vodgate account` and `vodgate uploads`: a tenant's self-service, through the SDK (its
API key against a running gateway; no server-side state)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from gateway.client import UploadClient, UploadError


def add_account_commands(commands: Any) -> None:
    account = commands.add_parser(
        "account", help="your standing, limits and usage (with your API key)"
    )
    _server_options(account)
    account.set_defaults(run=_account)

    uploads = commands.add_parser(
        "uploads", help="list your uploads, newest first (with your API key)"
    )
    _server_options(uploads)
    uploads.add_argument("--state", help="comma-separated states, e.g. review,rejected")
    uploads.add_argument("--verdict", choices=["pass", "review", "block", "error"])
    uploads.add_argument("--since", help="created at or after (ISO 8601 with offset)")
    uploads.add_argument("--until", help="created before (ISO 8601 with offset)")
    uploads.add_argument("--limit", type=int, default=50, help="per page (1-200)")
    uploads.add_argument("--cursor", help="the next_cursor of the previous page")
    uploads.set_defaults(run=_uploads)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="gateway base URL, e.g. http://host:8080")
    parser.add_argument("--api-key", required=True)


def _print(call: Any) -> int:
    try:
        body = asyncio.run(call)
    except UploadError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message}}), file=sys.stderr)
        return 1
    print(json.dumps(body, ensure_ascii=False))
    return 0


def _account(args: argparse.Namespace) -> int:
    return _print(UploadClient(args.server, args.api_key).account())


def _uploads(args: argparse.Namespace) -> int:
    filters = {
        name: value
        for name in ("state", "verdict", "since", "until", "limit", "cursor")
        if (value := getattr(args, name)) is not None
    }
    return _print(UploadClient(args.server, args.api_key).uploads(**filters))
