"""`vodgate policy coverage`: each item of the prohibited-content list (3.1.10.3), the
detectors this configuration gives it, and what is still uncovered."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli.common import settings_from, state_options
from gateway.domain.policy import CoverageRow
from gateway.runtime.wiring import policy_coverage


def add_policy_commands(commands: Any) -> None:
    policy = commands.add_parser("policy", help="the prohibited-content policy")
    actions = policy.add_subparsers(dest="policy_command", required=True)
    show = actions.add_parser(
        "coverage",
        help="each item, its detectors, and what is still uncovered",
        description="For each item of policies/prohibited-content.yaml: the detector labels "
        "this configuration provides (models, keyword and domain lists, OCR), those it names "
        "but nothing provides, and what no detector sees yet. Exit code 1 when an item has "
        "no working detector.",
    )
    state_options(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(run=run_coverage)


def run_coverage(args: argparse.Namespace) -> int:
    rows = policy_coverage(settings_from(args))
    if args.json:
        print(json.dumps([_as_json(row) for row in rows], ensure_ascii=False, indent=2))
    else:
        print(render(rows))
    return 0 if all(row.covered for row in rows) else 1


def _as_json(row: CoverageRow) -> dict[str, Any]:
    return {
        "item": row.item_id,
        "text_zh": row.text_zh,
        "detectors": list(row.provided),
        "not_provided": list(row.missing),
        "uncovered": row.uncovered,
    }


def render(rows: list[CoverageRow]) -> str:
    lines = []
    for row in rows:
        kinds: dict[str, list[str]] = {}
        for label in row.provided:
            kind, name = label.split(":", 1)
            kinds.setdefault(kind, []).append(name)
        detectors = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())
        lines.append(f"{row.item_id}  {row.text_zh}")
        lines.append(f"    detectors:  {detectors or 'NONE'}")
        if row.missing:
            lines.append(f"    not provided here: {', '.join(row.missing)}")
        lines.append(f"    uncovered:  {row.uncovered or '-'}")
    return "\n".join(lines)
