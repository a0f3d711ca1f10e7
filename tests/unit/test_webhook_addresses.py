"""Webhook destinations: an IPv4 address carried inside an IPv6 one (IPv4-mapped, 6to4,
Teredo, NAT64) is judged as that IPv4 address, when a URL is set and at connect time."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import ResolveResult

from gateway.adapters.net.webhook_destinations import GuardedResolver
from gateway.domain.errors import WebhookUrlInvalid
from gateway.domain.webhook_urls import check_destination, forbidden_address, parse_networks

# Security review (issue 20, item 13): each wraps a forbidden IPv4 address.
WRAPPED_FORBIDDEN = [
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (metadata)
    "2002:a00:5::",  # 6to4 of 10.0.0.5
    "2002::",  # 6to4 of 0.0.0.0
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (inverted bits)
    "2001:0:4136:e378:8000:63bf:f5ff:fffa",  # Teredo, client 10.0.0.5
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "::ffff:127.0.0.1",  # IPv4-mapped (already refused before the review)
]


@pytest.mark.parametrize("text", WRAPPED_FORBIDDEN)
def test_an_ipv4_address_wrapped_in_ipv6_is_judged_as_itself(text: str) -> None:
    assert forbidden_address(ipaddress.ip_address(text))
    with pytest.raises(WebhookUrlInvalid):
        check_destination("hook.example.com", [ipaddress.ip_address(text)], ())


def test_public_addresses_stay_allowed_and_allowed_networks_apply_to_the_wrapped_one() -> None:
    assert not forbidden_address(ipaddress.ip_address("2002:808:808::"))  # 6to4 of 8.8.8.8
    assert not forbidden_address(ipaddress.ip_address("2606:4700:4700::1111"))
    loopback = parse_networks(["127.0.0.0/8"])
    assert not forbidden_address(ipaddress.ip_address("2002:7f00:1::"), loopback)
    assert not forbidden_address(ipaddress.ip_address("::ffff:127.0.0.1"), loopback)


class _Answers:
    """A resolver that answers what the test says (as a rebinding DNS server would)."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host=self.address, port=port, family=socket.AF_INET6,
                proto=0, flags=0,
            )
        ]  # fmt: skip

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("text", WRAPPED_FORBIDDEN)
async def test_the_connect_time_guard_refuses_them_too(text: str) -> None:
    guard = GuardedResolver(())
    guard._inner = _Answers(text)  # type: ignore[assignment]
    with pytest.raises(OSError, match="refused"):
        await guard.resolve("hook.example.com", 443, socket.AF_INET6)
    guard._inner = _Answers("2002:808:808::")  # type: ignore[assignment]
    assert (await guard.resolve("hook.example.com", 443, socket.AF_INET6))[0]["port"] == 443
