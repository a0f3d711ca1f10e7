"""API keys (clause 3.1.5): shown once, stored as a hash, compared in constant time.

A key reads `vg_<key_id>_<secret>`. The key id is public and indexes the row; the secret has
256 bits of entropy, so a plain SHA-256 is enough (no slow KDF needed: nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.standing import Account

KEY_PREFIX = "vg"


class Role(StrEnum):
    UPLOADER = "uploader"
    REVIEWER = "reviewer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    secret_hash: str
    plaintext: str


def issue_key() -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(key_id, hash_secret(secret), f"{KEY_PREFIX}_{key_id}_{secret}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(plaintext: str) -> tuple[str, str] | None:
    """Return (key_id, secret), or None when the text is not shaped like a key."""
    prefix, _, rest = plaintext.partition("_")
    key_id, _, secret = rest.partition("_")
    # Keys are ASCII; header bytes that are not UTF-8 arrive as surrogates, unencodable.
    if prefix != KEY_PREFIX or len(key_id) != 16 or not secret or not plaintext.isascii():
        return None
    return key_id, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    # As bytes, like every comparison of secrets: compare_digest refuses non-ASCII text.
    return hmac.compare_digest(hash_secret(secret).encode(), stored_hash.encode())


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored (unrevoked) key: whose, what it may do, and its tenant's standing."""

    key_id: str
    tenant_id: str
    secret_hash: str
    role: Role
    account: Account  # the tenant's standing (clause 7.3.3), as recorded

    @property
    def signing_key(self) -> bytes:
        """What signs the upload tokens this key issues: known only to the gateway."""
        return bytes.fromhex(self.secret_hash)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the tenant behind an authenticated key."""

    tenant_id: str
    key_id: str
    role: Role

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"
