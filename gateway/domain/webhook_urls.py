"""What a tenant's webhook endpoint may be."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from gateway.domain.errors import WebhookUrlInvalid

MAX_URL_LENGTH = 2000


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials in it."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlInvalid(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError as exc:
        raise WebhookUrlInvalid(f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlInvalid(f"the URL must be http or https, not {parts.scheme or 'none'!r}")
    if not parts.hostname or not port_ok:
        raise WebhookUrlInvalid("the URL needs a host (and a valid port)")
    if parts.username or parts.password:
        raise WebhookUrlInvalid("put no credentials in the URL; requests are signed instead")
    return url


# Names that reach a cloud provider's instance metadata whatever they resolve to here.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches through a tunnel or translation: 6to4
    (2002::/16), Teredo (2001::/32, the client's address inverted in the last 32 bits) and
    NAT64."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is where packets go
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_address(address: Address, allowed: Sequence[Network] = ()) -> bool:
    """Loopback, private, link-local (the 169.254.169.254 metadata service), multicast,
    unspecified and reserved addresses are not a customer's endpoint: signed events must
    never be POSTed into the operator's own network. `allowed` names exceptions (CIDRs an
    operator delivers to on purpose; the tests' loopback receiver). An IPv6 address that
    carries an IPv4 one is refused when that one is (else judged itself, so no tunnel
    opens a range that was refused before)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # on a dual-stack socket it *is* that address
            return _forbidden(address.ipv4_mapped, allowed)
        inner = embedded_ipv4(address)
        if inner is not None and _forbidden(inner, allowed):
            return True
    return _forbidden(address, allowed)


def _forbidden(address: Address, allowed: Sequence[Network]) -> bool:
    if any(address in network for network in allowed):
        return False
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


def check_destination(host: str, addresses: Sequence[Address], allowed: Sequence[Network]) -> None:
    """Refuse a webhook host that is a metadata name or resolves to any forbidden address
    (all of them are checked: one private answer among public ones is enough to refuse)."""
    if host.rstrip(".").lower() in METADATA_HOSTS:
        raise WebhookUrlInvalid("the URL names a cloud metadata service")
    if not addresses:
        raise WebhookUrlInvalid("the URL's host does not resolve")
    if any(forbidden_address(a, allowed) for a in addresses):
        raise WebhookUrlInvalid(
            "the URL's host resolves to a loopback, private, link-local or multicast address"
        )


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)
