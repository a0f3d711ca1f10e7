"""What every command that opens the gateway's state shares: options, settings, services."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.runtime.settings import Settings, load_settings
from gateway.runtime.wiring import Services, close_services, open_services


def state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="data directory (default ./var)")
    parser.add_argument("--config", type=Path, help="TOML file with settings")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides = {k: v for k, v in extra.items() if v is not None}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    return load_settings(args.config, **overrides)


def with_services(
    args: argparse.Namespace, action: Callable[[Services, argparse.Namespace], Awaitable[int]]
) -> int:
    async def run() -> int:
        services = await open_services(settings_from(args))
        try:
            return await action(services, args)
        finally:
            await close_services(services)

    return asyncio.run(run())
