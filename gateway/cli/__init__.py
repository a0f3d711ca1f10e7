"""The `vodgate` command: `main` parses and runs one command group."""

from gateway.cli.main import main

__all__ = ["main"]
