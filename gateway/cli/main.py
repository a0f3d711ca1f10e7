"""The `vodgate` command (also `python -m gateway`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from gateway import __version__
from gateway.cli.accesslog import add_accesslog_commands
from gateway.cli.account import add_account_commands
from gateway.cli.bank import add_bank_commands
from gateway.cli.common import settings_from, state_options, with_services
from gateway.cli.licence import add_licence_commands
from gateway.cli.policy import add_policy_commands
from gateway.cli.scan import add_scan_command
from gateway.cli.tenant import add_tenant_commands
from gateway.cli.upload import add_upload_command
from gateway.domain.errors import ConfigError, GatewayError
from gateway.runtime.logs import configure_logging
from gateway.runtime.wiring import Services, is_outage

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 69  # sysexits.h EX_UNAVAILABLE: a service it needs is down


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
    except Exception as exc:
        if not is_outage(exc):
            raise
        # The database (or a connection to it) is not there: say so, without a traceback.
        print(
            f"vodgate: the database is unreachable ({type(exc).__name__}: {exc}); "
            "check VODGATE_DATABASE_URL and that the server is up",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE


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
    state_options(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="the background work without HTTP: screening, delivery, webhooks, review SLA, "
        "expiry sweeps, access-log retention",
    )
    state_options(worker)
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", help="bring the database schema to the latest")
    state_options(migrate)
    migrate.set_defaults(run=lambda args: with_services(args, _noop))

    add_tenant_commands(commands)
    add_licence_commands(commands)
    add_bank_commands(commands)
    add_policy_commands(commands)
    add_accesslog_commands(commands)
    add_upload_command(commands)
    add_account_commands(commands)
    add_scan_command(commands)
    return parser


async def _noop(_services: Services, _args: argparse.Namespace) -> int:
    return 0


def _serve(args: argparse.Namespace) -> int:
    from gateway.cli.serve import serve

    serve(settings_from(args, host=args.host, port=args.port))
    return 0


def _worker(args: argparse.Namespace) -> int:
    from gateway.cli.serve import run_worker

    run_worker(settings_from(args))
    return 0
