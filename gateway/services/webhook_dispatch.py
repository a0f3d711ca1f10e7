"""Webhook delivery from the outbox: signed POSTs with retries and backoff.

Each delivery is signed twice, so receivers can verify it either way:
- Standard Webhooks (standardwebhooks.com; the `standardwebhooks` packages on PyPI and npm
  verify it with the tenant's `whsec_...` secret as given): `webhook-id` (the event id),
  `webhook-timestamp` (unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256(key,
  "<id>.<timestamp>.<body>")>`, the key being the base64 after `whsec_`, read as those
  libraries read it.
- `Vodgate-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (the first
  form, kept for receivers written against it).
A receiver recomputes the signature over the raw body and rejects a stale timestamp.
Delivery is at least once: receivers dedupe on the event id."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import aiohttp

from gateway.domain.errors import WebhookUrlInvalid
from gateway.domain.events import PendingDelivery, event_json
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import WebhookOutbox
from gateway.domain.webhook_urls import Network, check_destination
from gateway.services.failpoints import failpoint
from gateway.services.metrics import Metrics

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Vodgate-Signature"
BATCH = 20  # events claimed per round; each is sent concurrently
MAX_BACKOFF_S = 3600.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def standard_key(secret: str) -> bytes | None:
    """The Standard Webhooks key in a `whsec_<base64>` secret, read as the reference
    libraries read it (non-strict base64, padding added); None when it holds none."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    except ValueError:  # binascii.Error
        return None
    return key or None


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str | None:
    """The Standard Webhooks `webhook-signature` value (None: the secret is not one)."""
    key = standard_key(secret)
    if key is None:
        return None
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode()}"


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64, as Standard Webhooks secrets are."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookDispatcher:
    def __init__(
        self,
        *,
        events: WebhookOutbox,
        clock: Clock,
        metrics: Metrics,
        timeout_s: float,
        retry_base_s: float,
        retry_window: dt.timedelta,
        poll_interval_s: float = 1.0,
        open_session: Callable[[aiohttp.ClientTimeout], aiohttp.ClientSession] | None = None,
        allowed_networks: Sequence[Network] = (),
    ) -> None:
        self._events = events
        self._clock = clock
        self._metrics = metrics
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retry_base_s = retry_base_s
        self._window = retry_window
        self._poll_s = poll_interval_s
        # The composition root passes a session whose resolver refuses forbidden addresses.
        self._open_session = open_session or (
            lambda timeout: aiohttp.ClientSession(timeout=timeout)
        )
        self._allowed = tuple(allowed_networks)

    async def run(self) -> None:
        async with self._open_session(self._timeout) as session:
            while True:
                try:
                    sent = await self.run_once(session)
                except Exception:
                    logger.exception("webhooks.round_failed")
                    sent = 0
                if not sent:
                    await asyncio.sleep(self._poll_s)

    async def run_once(self, session: aiohttp.ClientSession) -> int:
        lease = dt.timedelta(seconds=self._timeout.total or 10) * 3
        due = await self._events.claim_deliveries(self._clock.now(), lease, BATCH)
        await asyncio.gather(*(self._send(session, item) for item in due))
        return len(due)

    async def _send(self, session: aiohttp.ClientSession, item: PendingDelivery) -> None:
        body = json.dumps(
            event_json(item.id, item.type, item.body, item.created_at), ensure_ascii=False
        ).encode()
        now = self._clock.now()
        timestamp = int(now.timestamp())
        message_id = str(item.id)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            SIGNATURE_HEADER: sign(item.secret, timestamp, body),
            "Vodgate-Event-Id": str(item.id),
            "Vodgate-Event-Type": item.type,
        }
        standard = sign_standard(item.secret, message_id, timestamp, body)
        if standard is not None:  # secrets set before Standard Webhooks: Vodgate-Signature only
            headers["webhook-signature"] = standard
        try:
            _refuse_literal_address(item.url, self._allowed)
            # A redirect is a failed attempt: following it would send the signed body (307)
            # elsewhere, or (302) mark an event delivered that nobody received.
            async with session.post(
                item.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                ok = 200 <= response.status < 300
                error = f"HTTP {response.status}"
                if 300 <= response.status < 400:
                    error += " (redirects are not followed)"
        except (aiohttp.ClientError, TimeoutError, OSError, WebhookUrlInvalid) as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        now = self._clock.now()
        if ok:
            failpoint("webhook.sent_not_recorded")  # the receiver has it; we do not know
            await self._events.delivered(item.id, now)
            self._metrics.webhook_deliveries.labels(outcome="delivered").inc()
            return
        if now - item.created_at > self._window:
            await self._events.give_up(item.id, now, error)
            self._metrics.webhook_deliveries.labels(outcome="given_up").inc()
            logger.error("webhook.given_up", extra={"event_id": item.id, "error": error})
            return
        delay = min(MAX_BACKOFF_S, self._retry_base_s * 2 ** (item.attempts - 1))
        await self._events.retry_at(item.id, now + dt.timedelta(seconds=delay), error)
        self._metrics.webhook_deliveries.labels(outcome="retry").inc()
        logger.warning(
            "webhook.failed", extra={"event_id": item.id, "attempt": item.attempts, "error": error}
        )


def _refuse_literal_address(url: str, allowed: Sequence[Network]) -> None:
    """aiohttp skips its resolver for an IP literal: check one here (a URL stored before the
    set-time check, or an address the resolver never sees)."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: the session's resolver checks what it resolves to
    check_destination(host, [address], allowed)


def _plain_session(timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=timeout)
