"""What a tenant's webhook endpoint may be."""

from __future__ import annotations

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
