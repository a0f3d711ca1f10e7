"""`vodgate licence add`: register a licence a tenant holds (clause 3.1.10.1)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from gateway.cli.common import state_options, with_services
from gateway.domain.errors import ConfigError
from gateway.domain.licences import Licence
from gateway.runtime.wiring import Services


def add_licence_commands(commands: Any) -> None:
    licence = commands.add_parser("licence", help="manage tenants' licences").add_subparsers(
        required=True, metavar="ACTION"
    )
    add = licence.add_parser("add", help="register a licence a tenant holds (clause 3.1.10.1)")
    state_options(add)
    add.add_argument("--tenant", required=True, help="tenant id")
    add.add_argument("--type", required=True, dest="licence_type", help="e.g. avsp")
    add.add_argument("--number", required=True)
    add.add_argument("--holder", required=True)
    add.add_argument("--valid-from", type=dt.date.fromisoformat, help="YYYY-MM-DD (default today)")
    add.add_argument("--valid-until", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD")
    add.add_argument(
        "--scope", action="append", default=[], help="an approval the licence carries (repeat)"
    )
    add.set_defaults(run=_licence_add)


def _licence_add(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        today = services.clock.now().date()
        licence = Licence(
            licence_type=args.licence_type,
            number=args.number,
            holder=args.holder,
            valid_from=args.valid_from or today,
            valid_until=args.valid_until,
            scopes=frozenset(args.scope),
        )
        if licence.valid_until < licence.valid_from:
            raise ConfigError("--valid-until is before --valid-from")
        licence_id = await services.licences.add(args.tenant, licence, services.clock.now())
        print(
            json.dumps(
                {
                    "licence_id": licence_id,
                    "tenant_id": args.tenant,
                    "type": licence.licence_type,
                    "number": licence.number,
                    "valid_from": str(licence.valid_from),
                    "valid_until": str(licence.valid_until),
                    "scopes": sorted(licence.scopes),
                },
                ensure_ascii=False,
            )
        )
        return 0

    return with_services(args, action)
