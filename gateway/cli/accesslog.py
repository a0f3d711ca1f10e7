"""`vodgate accesslog export`: the access log (clause 3.1.8) as JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

from gateway.cli.common import state_options, with_services
from gateway.runtime.wiring import Services

EXPORT_BATCH = 1000  # access-log lines per write


def add_accesslog_commands(commands: Any) -> None:
    accesslog = commands.add_parser("accesslog", help="the access log (clause 3.1.8)")
    export = accesslog.add_subparsers(required=True, metavar="ACTION").add_parser(
        "export", help="write access-log records as JSON lines"
    )
    state_options(export)
    export.add_argument("--since", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD")
    export.add_argument("--output", type=Path, help="file to write (default stdout)")
    export.set_defaults(run=_accesslog_export)


def _accesslog_export(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        since = dt.datetime.combine(args.since, dt.time(), tzinfo=dt.UTC)
        out = (
            await asyncio.to_thread(args.output.open, "w", encoding="utf-8")
            if args.output
            else sys.stdout
        )
        count = 0
        lines: list[str] = []
        try:
            async for record in services.accesslog_repository.since(since):
                row = record.as_row() | {"at": record.at.isoformat()}
                lines.append(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
                if len(lines) >= EXPORT_BATCH:  # written off the loop, a batch at a time
                    await asyncio.to_thread(out.writelines, lines)
                    lines = []
            await asyncio.to_thread(out.writelines, lines)
        finally:
            if args.output:
                await asyncio.to_thread(out.close)
        logging.getLogger(__name__).info("accesslog.exported", extra={"records": count})
        return 0

    return with_services(args, action)
