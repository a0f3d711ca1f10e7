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


def forbidden_address(address: Address, allowed: Sequence[Network] = ()) -> bool:
    """Loopback, private, link-local (the 169.254.169.254 metadata service), multicast,
    unspecified and reserved addresses are not a customer's endpoint: signed events must
    never be POSTed into the operator's own network. `allowed` names exceptions (CIDRs an
    operator delivers to on purpose; the tests' loopback receiver)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
