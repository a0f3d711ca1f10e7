"""`vodgate scan FILE`: the gateway's screening on a local file, with no server."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.domain.errors import ClientError, ConfigError, MediaRefused, NotFound, TenantNotFound
from gateway.domain.licences import check_declared_licence, check_upload_licence
from gateway.domain.policy import Verdict
from gateway.runtime.screening_wiring import build_screener
from gateway.runtime.settings import Settings, load_settings
from gateway.runtime.wiring import licence_rules, open_database, open_registry

if TYPE_CHECKING:
    from gateway.services.screener import ScreeningResult

EXIT_BY_VERDICT = {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}
EXIT_ERROR = 3


def add_scan_command(commands: Any) -> None:
    scan = commands.add_parser(
        "scan",
        help="screen a local file (no server); prints the decision JSON",
        description="Screen FILE as the gateway would: check the declared licence, probe, "
        "sample frames, run the models and the text detectors (OCR, QR codes, subtitles, the "
        "declared title), apply the policy. Exit code 0 pass, 1 review, "
        "2 block (content or licence), 3 error.",
    )
    scan.add_argument("file", type=Path)
    scan.add_argument(
        "--meta",
        action="append",
        default=[],
        type=_meta_pair,
        metavar="KEY=VALUE",
        help="declared metadata, as an upload would send it (licence_type, licence_number, "
        "content_category, rights_holder, rights_expires, title, filename, description)",
    )
    scan.add_argument(
        "--tenant",
        metavar="TENANT_ID",
        help="also check the licence against this tenant's registered licences, and apply "
        "its thresholds (reads the configured database); without it only the declaration "
        "is checked",
    )
    scan.add_argument("--config", type=Path, help="TOML file with settings")
    scan.add_argument("--models-dir", type=Path, help="model manifests (default models/)")
    scan.add_argument("--policies-dir", type=Path, help="policy files (default policies/)")
    scan.usage_exit_code = EXIT_ERROR  # 2 means block here
    scan.set_defaults(run=run_scan)


def _meta_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def run_scan(args: argparse.Namespace) -> int:
    overrides = {
        k: v
        for k, v in (("models_dir", args.models_dir), ("policies_dir", args.policies_dir))
        if v is not None
    }
    try:
        settings = load_settings(args.config, **overrides)
    except ConfigError as exc:
        return _print_error("config_invalid", str(exc))
    metadata = dict(args.meta)
    if not args.file.is_file():
        return _print_error("file_not_found", f"no such file: {args.file}")
    try:
        licence, thresholds = asyncio.run(_check_licence(settings, metadata, args.tenant))
    except ConfigError as exc:
        return _print_error("config_invalid", str(exc))
    except NotFound as exc:  # an operator's mistake, not the video's
        return _print({"verdict": "error", **exc.as_body()}, EXIT_ERROR)
    except SQLAlchemyError as exc:
        return _print_error("database_unavailable", f"{settings.resolved_database_url}: {exc}")
    except ClientError as exc:  # the same refusal the worker records: a block
        return _print({"verdict": "block", **exc.as_body(), "metadata": metadata}, 2)
    try:
        result = asyncio.run(_screen(settings, args.file, thresholds, metadata, args.tenant))
    except ConfigError as exc:  # a model or policy that does not check out
        return _print_error("config_invalid", str(exc))
    except MediaRefused as exc:
        return _print({"verdict": "error", **exc.as_body()}, EXIT_ERROR)
    from gateway.services.screener import decision_record

    body = decision_record(result).to_json()
    body["metadata"] = metadata
    body["licence"] = licence
    return _print(body, EXIT_BY_VERDICT[result.decision.verdict])


async def _screen(
    settings: Settings,
    path: Path,
    thresholds: dict[str, dict[str, float]],
    metadata: dict[str, str],
    tenant_id: str | None,
) -> ScreeningResult:
    """Screened as the gateway would, with the configured database's hash banks."""
    engine = await open_database(settings)
    try:
        screener = await asyncio.to_thread(build_screener, settings, None, engine)
        return await screener.screen(path, thresholds or None, metadata, tenant_id)
    finally:
        await engine.dispose()


async def _check_licence(
    settings: Settings, metadata: dict[str, str], tenant_id: str | None
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The declaration always; the registry and the tenant's thresholds with --tenant."""
    rules = await asyncio.to_thread(licence_rules, settings)
    today = dt.datetime.now(dt.UTC).date()
    if tenant_id is None:
        check_declared_licence(rules, metadata, today)
        return {"checked": "declaration", "registry": "not consulted (no --tenant)"}, {}
    registry = await open_registry(settings)
    try:
        if not await registry.tenants.exists(tenant_id):
            raise TenantNotFound(f"no tenant {tenant_id} in this database")
        held = [lic for _, lic in await registry.licences.held_by(tenant_id)]
        licence = check_upload_licence(rules, metadata, held, today)
        thresholds = await registry.thresholds.for_tenant(tenant_id)
    finally:
        await registry.engine.dispose()
    summary = {
        "checked": "registry",
        "tenant": tenant_id,
        "licence_type": licence.licence_type,
        "number": licence.number,
        "valid_until": licence.valid_until.isoformat(),
    }
    return summary, thresholds


def _print_error(code: str, message: str) -> int:
    return _print({"verdict": "error", "error": {"code": code, "message": message}}, EXIT_ERROR)


def _print(body: dict[str, Any], exit_code: int) -> int:
    json.dump(body, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return exit_code
