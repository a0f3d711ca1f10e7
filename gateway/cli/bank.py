"""`vodgate bank ...`: hash banks of known prohibited and rights-owned content."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from gateway.cli.common import state_options, with_services
from gateway.domain.banks import BankKind
from gateway.domain.errors import BankInputInvalid
from gateway.runtime.screening_wiring import build_bank_service
from gateway.runtime.wiring import Services
from gateway.services.banks import bank_json, entry_json


def add_bank_commands(commands: Any) -> None:
    bank = commands.add_parser(
        "bank",
        help="hash banks of known content",
        description="A prohibited bank blocks re-uploads under the item it cites; a rights "
        "bank sends other tenants' copies of its owner's references to review (3.1.10.3(7), "
        "5.1). Files are hashed (PDQ per sampled frame); the files themselves are not kept. "
        "A running gateway picks changes up within seconds.",
    ).add_subparsers(required=True, metavar="ACTION")

    create = bank.add_parser("create", help="create a bank")
    create.add_argument("name")
    create.add_argument("--kind", required=True, choices=[k.value for k in BankKind])
    create.add_argument("--clause", required=True, help='the item it cites: "3.1.10.3(4)"')
    create.add_argument("--owner", help="tenant id of the rights holder (rights banks)")
    create.add_argument("--max-distance", type=int, default=31, help="PDQ bits (default 31)")
    create.add_argument(
        "--min-matched-s", type=float, default=5.0, help="matched span of an upload (default 5)"
    )
    create.set_defaults(run=_create)

    add = bank.add_parser("add", help="hash videos into a bank (the same file twice is one entry)")
    add.add_argument("name")
    add.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add.set_defaults(run=_add)

    listing = bank.add_parser("list", help="banks, or one bank's entries")
    listing.add_argument("name", nargs="?")
    listing.set_defaults(run=_list)

    remove = bank.add_parser("remove", help="remove an entry (audited)")
    remove.add_argument("name")
    remove.add_argument("entry", type=int)
    remove.set_defaults(run=_remove)

    export = bank.add_parser("export", help="print a bank's hashes (the documented text form)")
    export.add_argument("name")
    export.set_defaults(run=_export)

    imported = bank.add_parser("import", help="add entries from an export or PDQ hex lines")
    imported.add_argument("name")
    imported.add_argument("file", type=Path)
    imported.set_defaults(run=_import)

    for parser in (create, add, listing, remove, export, imported):
        state_options(parser)


def _operator() -> str:
    return f"operator:{getpass.getuser()}"[:64]


def _print(body: Any) -> int:
    print(json.dumps(body, ensure_ascii=False))
    return 0


def _create(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        bank = await build_bank_service(services).create(
            args.name, BankKind(args.kind), args.clause, args.owner,
            max_distance=args.max_distance, min_matched_s=args.min_matched_s,
        )  # fmt: skip
        return _print({"bank": bank.name, "kind": bank.kind.value, "clause": bank.item,
                       "owner": bank.owner_tenant})  # fmt: skip

    return with_services(args, action)


def _add(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        banks = build_bank_service(services)
        for path in args.files:
            entry, new = await banks.add_file(args.name, path, _operator())
            _print(entry_json(entry) | {"new": new})
        return 0

    return with_services(args, action)


def _list(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        banks = build_bank_service(services)
        if args.name:
            await banks.check_exists(args.name)
            return _print([entry_json(e) for e in await banks.store.entries(args.name)])
        return _print([bank_json(b, n) for b, n in await banks.store.banks()])

    return with_services(args, action)


def _remove(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        await build_bank_service(services).remove(args.name, args.entry, _operator())
        return _print({"removed": args.entry, "bank": args.name})

    return with_services(args, action)


def _export(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        for line in await build_bank_service(services).export(args.name):
            sys.stdout.write(line + "\n")
        return 0

    return with_services(args, action)


def _import(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        try:
            data = await asyncio.to_thread(args.file.read_bytes)
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BankInputInvalid(f"{args.file.name}: not a readable UTF-8 text file") from exc
        entries = await build_bank_service(services).import_lines(
            args.name, text.splitlines(), _operator()
        )
        return _print([entry_json(e) for e in entries])

    return with_services(args, action)
