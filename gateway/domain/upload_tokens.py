"""Direct-upload tokens: a customer's backend mints one with its API key, and hands it to an
end user's browser or phone, which then uploads with it in place of the key.

A token authorises one upload: its creation (once), then that upload's HEAD, PATCH and
DELETE, until it expires; it fixes the tenant, a maximum size and some metadata (licence,
category, title), which the client cannot change. It reads

    vgt1.<claims, base64url JSON>.<HMAC-SHA256 of the first two parts, base64url>

signed with the issuing key's stored hash (never sent anywhere), so revoking that key
revokes every token it issued, and rotating keys needs no other secret."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.domain.errors import TokenExpired, TokenInvalid, TokenMetadataMismatch

PREFIX = "vgt1"
# Metadata a token may fix (the rest the client chooses: filename, its own keys).
BINDABLE_METADATA = frozenset(
    {"licence_type", "licence_number", "content_category", "title", "rights_holder",
     "rights_expires"}
)  # fmt: skip
MAX_TTL = dt.timedelta(hours=1)
# HMAC-SHA256 (32 bytes) in unpadded base64url: exactly 43 characters of its alphabet.
SIGNATURE_TEXT = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, slots=True)
class UploadToken:
    tenant_id: str
    key_id: str  # the API key that issued it (and signs it)
    expires_at: dt.datetime
    max_size: int
    metadata: dict[str, str] = field(default_factory=dict)
    token_id: str = field(default_factory=lambda: secrets.token_hex(12))

    def refreshed(self, now: dt.datetime, ttl: dt.timedelta) -> UploadToken:
        """The same grant (same id, so the same one upload) with a new expiry."""
        return replace(self, expires_at=now + min(ttl, MAX_TTL))

    def check_metadata(self, sent: dict[str, str]) -> dict[str, str]:
        """The upload's metadata: what the client sent, with the bound keys the token's.
        A bound key sent with another value is refused (the client cannot change it)."""
        for key, value in self.metadata.items():
            if key in sent and sent[key] != value:
                raise TokenMetadataMismatch(f"the upload token fixes {key}; it cannot be changed")
        return {**sent, **self.metadata}


def is_token(credential: str) -> bool:
    return credential.startswith(PREFIX + ".")


def encode(token: UploadToken, signing_key: bytes) -> str:
    claims = {
        "t": token.tenant_id,
        "k": token.key_id,
        "x": int(token.expires_at.timestamp()),
        "s": token.max_size,
        "m": token.metadata,
        "j": token.token_id,
    }
    body = f"{PREFIX}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{body}.{_b64(_mac(signing_key, body))}"


def key_id_of(text: str) -> str:
    """The issuing key's id, read before the signature is checked (to find the key)."""
    return str(_claims(text)["k"])


def decode(text: str, signing_key: bytes, now: dt.datetime) -> UploadToken:
    """The token's grant; TokenInvalid (401) when tampered with, malformed or expired."""
    body, _, signature = text.rpartition(".")
    given = _signature_bytes(signature)
    if given is None or not hmac.compare_digest(given, _mac(signing_key, body)):
        raise TokenInvalid("the upload token is not valid")
    claims = _claims(text)
    expires_at = dt.datetime.fromtimestamp(int(claims["x"]), dt.UTC)
    if now >= expires_at:
        raise TokenExpired("the upload token has expired; refresh it")
    return UploadToken(
        tenant_id=str(claims["t"]),
        key_id=str(claims["k"]),
        expires_at=expires_at,
        max_size=int(claims["s"]),
        metadata={str(k): str(v) for k, v in dict(claims["m"]).items()},
        token_id=str(claims["j"]),
    )


def _claims(text: str) -> dict[str, Any]:
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != PREFIX or len(text) > 8192:
        raise TokenInvalid("the upload token is not valid")
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
        if not isinstance(claims, dict) or not {"t", "k", "x", "s", "m", "j"} <= claims.keys():
            raise ValueError("claims missing")
        if not isinstance(claims["m"], dict):
            raise ValueError("metadata is not an object")
        int(claims["x"]), int(claims["s"])
    except (ValueError, TypeError) as exc:
        raise TokenInvalid("the upload token is not valid") from exc
    return claims


def _signature_bytes(text: str) -> bytes | None:
    """The MAC, only from its one encoding: lenient base64 skips junk and ignores the last
    character's unused bits, so other texts would carry the same signature (malleable)."""
    if not SIGNATURE_TEXT.fullmatch(text):
        return None
    raw = base64.b64decode(text + "=", altchars=b"-_", validate=True)
    return raw if _b64(raw) == text else None


def _mac(signing_key: bytes, body: str) -> bytes:
    return hmac.new(signing_key, body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
