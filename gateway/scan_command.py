"""`vodgate scan FILE`: the gateway's screening on a local file, with no server."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from gateway.config import load_settings
from gateway.domain.policy import Verdict
from gateway.media.probe import MediaRefused
from gateway.wiring import build_screener

EXIT_BY_VERDICT = {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}
EXIT_ERROR = 3


def add_scan_command(commands: Any) -> None:
    scan = commands.add_parser(
        "scan",
        help="screen a local file (no server); prints the decision JSON",
        description="Screen FILE as the gateway would: probe, sample frames, run the models, "
        "apply the policy. Exit code 0 pass, 1 review, 2 block, 3 error.",
    )
    scan.add_argument("file", type=Path)
    scan.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="declared metadata (kept with the decision)",
    )
    scan.add_argument("--config", type=Path, help="TOML file with settings")
    scan.add_argument("--models-dir", type=Path, help="model manifests (default models/)")
    scan.add_argument("--policies-dir", type=Path, help="policy files (default policies/)")
    scan.set_defaults(run=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    overrides = {
        k: v
        for k, v in (("models_dir", args.models_dir), ("policies_dir", args.policies_dir))
        if v is not None
    }
    settings = load_settings(args.config, **overrides)
    screener = build_screener(settings)
    try:
        result = asyncio.run(screener.screen(args.file))
    except MediaRefused as exc:
        print(json.dumps({"verdict": "error", **exc.as_body()}, ensure_ascii=False))
        return EXIT_ERROR
    except FileNotFoundError:
        print(
            json.dumps(
                {"verdict": "error", "error": {"code": "file_not_found", "message": str(args.file)}}
            )
        )
        return EXIT_ERROR
    from gateway.pipeline.screening import decision_json

    body = decision_json(result)
    body["metadata"] = dict(pair.split("=", 1) for pair in args.meta if "=" in pair)
    json.dump(body, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return EXIT_BY_VERDICT[result.decision.verdict]
