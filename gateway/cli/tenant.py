"""`vodgate tenant ...`: create tenants, override their thresholds, set their webhook."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from gateway.cli.common import state_options, with_services
from gateway.domain.errors import ConfigError, TenantNotFound
from gateway.domain.principals import Role
from gateway.domain.quotas import Limits
from gateway.runtime.wiring import Services


def add_tenant_commands(commands: Any) -> None:
    tenant = commands.add_parser("tenant", help="manage tenants").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = tenant.add_parser("create", help="create a tenant; prints its API key once")
    state_options(create)
    create.add_argument("name")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.UPLOADER.value)
    create.set_defaults(run=_tenant_create)

    thresholds = tenant.add_parser(
        "thresholds", help="override a policy label's review/block thresholds for one tenant"
    )
    state_options(thresholds)
    thresholds.add_argument("tenant_id")
    thresholds.add_argument("--label", required=True, help="detector:label, e.g. open_nsfw:nsfw")
    thresholds.add_argument("--review-at", type=float, required=True, help="score 0..1")
    thresholds.add_argument("--block-at", type=float, required=True, help="score 0..1")
    thresholds.set_defaults(run=_tenant_thresholds)

    arrears = tenant.add_parser(
        "arrears",
        help="record that the tenant has been in arrears since TIME (clause 7.3.3: "
        "suspended 24 h later unless paid, terminated and purged 15 days after that)",
    )
    state_options(arrears)
    arrears.add_argument("tenant_id")
    arrears.add_argument(
        "--since", required=True, type=_instant, help="ISO 8601 time with its offset"
    )
    arrears.set_defaults(run=_tenant_arrears)

    paid = tenant.add_parser("paid", help="the arrears are paid: the account is active again")
    state_options(paid)
    paid.add_argument("tenant_id")
    paid.set_defaults(run=_tenant_paid)

    standing = tenant.add_parser("standing", help="the tenant's standing and its next move")
    state_options(standing)
    standing.add_argument("tenant_id")
    standing.set_defaults(run=_tenant_standing)

    limits = tenant.add_parser(
        "limits",
        help="a tenant's fair-use limits and usage (clause 3.1.3.6); with options, set them",
    )
    state_options(limits)
    limits.add_argument("tenant_id")
    for name in Limits.names():
        limits.add_argument(
            f"--{name.replace('_', '-')}", type=_positive, metavar="N", help=_LIMIT_HELP[name]
        )
    limits.add_argument(
        "--default",
        action="append",
        default=[],
        choices=Limits.names(),
        metavar="LIMIT",
        help="set LIMIT back to the settings' default (repeatable)",
    )
    limits.set_defaults(run=_tenant_limits)

    webhook = tenant.add_parser(
        "webhook", help="where a tenant's events are POSTed (signed with HMAC-SHA256)"
    ).add_subparsers(required=True, metavar="ACTION")
    webhook_set = webhook.add_parser("set", help="set the endpoint; prints the signing secret")
    state_options(webhook_set)
    webhook_set.add_argument("tenant_id")
    webhook_set.add_argument("--url", required=True, help="http(s) URL that receives events")
    webhook_set.add_argument("--secret", help="signing secret (default: a new random one)")
    webhook_set.set_defaults(run=_tenant_webhook_set)


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

    return with_services(args, action)


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

    return with_services(args, action)


def _tenant_webhook_set(args: argparse.Namespace) -> int:
    from gateway.runtime.wiring import checked_webhook_url
    from gateway.services.webhook_dispatch import new_secret, standard_key

    async def action(services: Services, args: argparse.Namespace) -> int:
        url = await checked_webhook_url(services.settings, args.url)
        secret = args.secret or new_secret()
        if len(standard_key(secret) or b"") < 16:
            raise ConfigError(
                "--secret must be a Standard Webhooks secret: whsec_ and at least 16 bytes "
                "in base64 (leave it out for a new random one)"
            )
        await services.webhooks.set(args.tenant_id, url, secret, services.clock.now())
        print(json.dumps({"tenant_id": args.tenant_id, "url": url, "secret": secret}))
        return 0

    return with_services(args, action)


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time with its offset: {text!r}")
    return value.astimezone(dt.UTC)


def _print_standing(args: argparse.Namespace, change: str) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        accounts = services.accounts
        if change == "arrears":
            view = await accounts.report_arrears(args.tenant_id, args.since)
        elif change == "paid":
            view = await accounts.paid(args.tenant_id)
        else:
            view = await accounts.standing(args.tenant_id)
        print(json.dumps({"tenant_id": args.tenant_id, **view}, ensure_ascii=False))
        return 0

    return with_services(args, action)


def _tenant_arrears(args: argparse.Namespace) -> int:
    return _print_standing(args, "arrears")


def _tenant_paid(args: argparse.Namespace) -> int:
    return _print_standing(args, "paid")


def _tenant_standing(args: argparse.Namespace) -> int:
    return _print_standing(args, "standing")


_LIMIT_HELP = {
    "max_file_size": "bytes one upload may declare (413 beyond)",
    "open_uploads": "incomplete uploads at once",
    "concurrent_patches": "PATCH bodies received at once, across instances",
    "bytes_per_day": "bytes received per UTC day",
    "uploads_per_minute": "creations in any 60 seconds",
    "screening_minutes_per_day": "minutes of video screened per UTC day",
    "requests_per_second": "requests of any kind per second, on each instance",
}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a limit must be positive: {text!r}")
    return value


def _tenant_limits(args: argparse.Namespace) -> int:
    async def action(services: Services, args: argparse.Namespace) -> int:
        values: dict[str, int | None] = {
            name: getattr(args, name) for name in Limits.names() if getattr(args, name)
        }
        values |= {name: None for name in args.default}
        quotas = services.quotas
        view = await quotas.set_limits(args.tenant_id, values) if values else None
        if view is None:
            if not await services.tenants.exists(args.tenant_id):
                raise TenantNotFound(f"no tenant {args.tenant_id}")
            view = await quotas.view(args.tenant_id)
        print(json.dumps({"tenant_id": args.tenant_id, **view}))
        return 0

    return with_services(args, action)
