"""The `vodgate` command (also `python -m gateway`)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from gateway import __version__
from gateway.cli.scan import add_scan_command
from gateway.cli.upload import add_upload_command
from gateway.domain.errors import ConfigError, GatewayError
from gateway.domain.licences import Licence
from gateway.domain.principals import Role
from gateway.runtime.logs import configure_logging
from gateway.runtime.settings import Settings, load_settings
from gateway.runtime.wiring import Services, close_services, open_services

EXIT_CONFIG = 2
EXPORT_BATCH = 1000  # access-log lines per write


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        result: int = args.run(args)
        return result
    except ConfigError as exc:
        print(f"vodgate: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except GatewayError as exc:
        print(json.dumps(exc.as_body(), ensure_ascii=False), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


class CommandParser(argparse.ArgumentParser):
    """argparse with a per-command exit code for usage errors (`scan` keeps 2 for block)."""

    usage_exit_code = 2

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_exit_code, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="vodgate", description="Content-moderation upload gateway for video on demand."
    )
    parser.add_argument("--version", action="version", version=f"vodgate {__version__}")
    parser.add_argument("--log-level", default="INFO", help="log level (default INFO)")
    commands = parser.add_subparsers(
        title="commands", required=True, metavar="COMMAND", parser_class=CommandParser
    )

    serve = commands.add_parser("serve", help="run the gateway with in-process workers")
    _state_options(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="the background work without HTTP: screening, delivery, webhooks, review SLA, "
        "expiry sweeps, access-log retention",
    )
    _state_options(worker)
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", help="bring the database schema to the latest")
    _state_options(migrate)
    migrate.set_defaults(run=lambda args: _with_services(args, _noop))

    tenant = commands.add_parser("tenant", help="manage tenants").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = tenant.add_parser("create", help="create a tenant; prints its API key once")
    _state_options(create)
    create.add_argument("name")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.UPLOADER.value)
    create.set_defaults(run=_tenant_create)

    thresholds = tenant.add_parser(
        "thresholds", help="override a policy label's review/block thresholds for one tenant"
    )
    _state_options(thresholds)
    thresholds.add_argument("tenant_id")
    thresholds.add_argument("--label", required=True, help="detector:label, e.g. open_nsfw:nsfw")
    thresholds.add_argument("--review-at", type=float, required=True, help="score 0..1")
    thresholds.add_argument("--block-at", type=float, required=True, help="score 0..1")
    thresholds.set_defaults(run=_tenant_thresholds)

    webhook = tenant.add_parser(
        "webhook", help="where a tenant's events are POSTed (signed with HMAC-SHA256)"
    ).add_subparsers(required=True, metavar="ACTION")
    webhook_set = webhook.add_parser("set", help="set the endpoint; prints the signing secret")
    _state_options(webhook_set)
    webhook_set.add_argument("tenant_id")
    webhook_set.add_argument("--url", required=True, help="http(s) URL that receives events")
    webhook_set.add_argument("--secret", help="signing secret (default: a new random one)")
    webhook_set.set_defaults(run=_tenant_webhook_set)

    licence = commands.add_parser("licence", help="manage tenants' licences").add_subparsers(
        required=True, metavar="ACTION"
    )
    add = licence.add_parser("add", help="register a licence a tenant holds (clause 3.1.10.1)")
    _state_options(add)
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

    accesslog = commands.add_parser("accesslog", help="the access log (clause 3.1.8)")
    export = accesslog.add_subparsers(required=True, metavar="ACTION").add_parser(
        "export", help="write access-log records as JSON lines"
    )
    _state_options(export)
    export.add_argument("--since", type=dt.date.fromisoformat, required=True, help="YYYY-MM-DD")
    export.add_argument("--output", type=Path, help="file to write (default stdout)")
    export.set_defaults(run=_accesslog_export)

    add_upload_command(commands)
    add_scan_command(commands)
    return parser


def _state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="data directory (default ./var)")
    parser.add_argument("--config", type=Path, help="TOML file with settings")


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {k: v for k, v in extra.items() if v is not None}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    return load_settings(args.config, **overrides)


def _with_services(
    args: argparse.Namespace, action: Callable[[Services, argparse.Namespace], Awaitable[int]]
) -> int:
    async def run() -> int:
        services = await open_services(_settings(args))
        try:
            return await action(services, args)
        finally:
            await close_services(services)

    return asyncio.run(run())


async def _noop(_services: Services, _args: argparse.Namespace) -> int:
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gateway.cli.serve import serve

    serve(_settings(args, host=args.host, port=args.port))
    return 0


def _worker(args: argparse.Namespace) -> int:
    from gateway.cli.serve import run_worker

    run_worker(_settings(args))
    return 0


def _tenant_create(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        tenant_id, key = await services.tenants.create(
            args.name, Role(args.role), services.clock.now()
        )
        print(
            json.dumps(
                {
                    "tenant_id": tenant_id,
                    "name": args.name,
                    "role": args.role,
                    "api_key": key.plaintext,
                }
            )
        )
        return 0

    return _with_services(args, action)


def _tenant_thresholds(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        policy = services.policy
        values = {"review_at": args.review_at, "block_at": args.block_at}
        try:
            policy.with_overrides({args.label: values})  # the same checks the worker applies
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        await services.thresholds.set(
            args.tenant_id, args.label, args.review_at, args.block_at, services.clock.now()
        )
        print(json.dumps({"tenant_id": args.tenant_id, "label": args.label, **values}))
        return 0

    return _with_services(args, action)


def _tenant_webhook_set(args: argparse.Namespace) -> int:
    from gateway.runtime.wiring import checked_webhook_url
    from gateway.services.webhook_dispatch import new_secret

    async def action(services: Services, args: argparse.Namespace) -> int:
        url = await checked_webhook_url(services.settings, args.url)
        secret = args.secret or new_secret()
        await services.webhooks.set(args.tenant_id, url, secret, services.clock.now())
        print(json.dumps({"tenant_id": args.tenant_id, "url": url, "secret": secret}))
        return 0

    return _with_services(args, action)


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

    return _with_services(args, action)


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

    return _with_services(args, action)
