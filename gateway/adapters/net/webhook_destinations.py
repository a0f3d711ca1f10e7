"""Where webhooks may connect: every address a host resolves to is checked, when a tenant
sets the URL and again at connect time (a DNS answer can change between the two: rebinding).

`GuardedResolver` is the aiohttp resolver the dispatcher's session uses: it resolves as
aiohttp would and refuses the connection when any answer is forbidden."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from gateway.domain.webhook_urls import Address, Network, check_destination, check_webhook_url

# Seconds a resolution may take when a URL is set.
RESOLVE_TIMEOUT_S = 10.0


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone


async def check_webhook_destination(url: str, allowed: Sequence[Network]) -> str:
    """The URL, checked: its form (domain rule), then every address its host resolves to."""
    url = check_webhook_url(url)
    host = urlsplit(url).hostname or ""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError):
        infos = []
    check_destination(host, [_address(str(info[4][0])) for info in infos], allowed)
    return url


class GuardedResolver(AbstractResolver):
    def __init__(self, allowed: Sequence[Network]) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = tuple(allowed)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        try:
            check_destination(host, [_address(a["host"]) for a in answers], self._allowed)
        except Exception as exc:
            raise OSError(f"webhook destination refused: {exc}") from exc
        return answers

    async def close(self) -> None:
        await self._inner.close()


def guarded_session(
    timeout: aiohttp.ClientTimeout, allowed: Sequence[Network]
) -> aiohttp.ClientSession:
    """An aiohttp session whose every connection goes through the guard."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allowed), use_dns_cache=False)
    return aiohttp.ClientSession(timeout=timeout, connector=connector)
