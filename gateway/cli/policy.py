"""`vodgate policy coverage`: each item of the prohibited-content list (3.1.10.3), the
detectors this configuration gives it, and what is still uncovered."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli.common import settings_from, state_options
from gateway.domain.policy import CoverageRow
from gateway.runtime.keyword_counts import keyword_counts
from gateway.runtime.screening_wiring import policy_coverage

# Label kinds that name a keyword list.
KEYWORD_KINDS = ("ocr", "subtitles", "metadata")


def add_policy_commands(commands: Any) -> None:
    policy = commands.add_parser("policy", help="the prohibited-content policy")
    actions = policy.add_subparsers(dest="policy_command", required=True)
    show = actions.add_parser(
        "coverage",
        help="each item, its detectors, and what is still uncovered",
        description="For each item of policies/prohibited-content.yaml: the detector labels "
        "this configuration provides (models, keyword and domain lists, OCR), those it names "
        "but nothing provides, what no detector sees yet, and the size of each keyword list "
        "by kind (block, review, context; the forms they expand to; cues and innocent "
        "compounds). Exit code 1 when an item has no working detector.",
    )
    state_options(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(run=run_coverage)


def run_coverage(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    rows = policy_coverage(settings)
    counts = keyword_counts(settings)
    if args.json:
        body = [_as_json(row, counts) for row in rows]
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(render(rows, counts))
    return 0 if all(row.covered for row in rows) else 1


def item_lists(row: CoverageRow, counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The keyword lists an item's labels name, with their counts (lists that exist)."""
    names = [
        label.split(":", 1)[1]
        for label in (*row.provided, *row.missing)
        if label.split(":", 1)[0] in KEYWORD_KINDS
    ]
    return {name: counts[name] for name in dict.fromkeys(names) if name in counts}


def _as_json(row: CoverageRow, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {
        "item": row.item_id,
        "text_zh": row.text_zh,
        "detectors": list(row.provided),
        "not_provided": list(row.missing),
        "uncovered": row.uncovered,
        "keywords": item_lists(row, counts),
    }


def _keyword_line(name: str, count: dict[str, int]) -> str:
    kinds = ", ".join(
        f"{kind} {count[kind]} ({count[f'{kind}_forms']} forms)"
        for kind in ("block", "review", "context")
    )
    return f"{name}: {kinds}; {count['cue']} cues, {count['innocent']} innocent"


def render(rows: list[CoverageRow], counts: dict[str, dict[str, int]] | None = None) -> str:
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
        for name, count in item_lists(row, counts or {}).items():
            lines.append(f"    keywords:   {_keyword_line(name, count)}")
        lines.append(f"    uncovered:  {row.uncovered or '-'}")
    if counts:
        lines.append(_totals(counts))
    return "\n".join(lines)


def _totals(counts: dict[str, dict[str, int]]) -> str:
    total = {key: sum(c[key] for c in counts.values()) for key in next(iter(counts.values()))}
    return "all keyword lists: " + _keyword_line(f"{len(counts)} lists", total).split(": ", 1)[1]
