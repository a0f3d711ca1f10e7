"""Tenants, their API keys and their licences."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.adapters.db.accounts import ACCOUNT_COLUMNS, account_from_row
from gateway.adapters.db.cache import TtlCache
from gateway.adapters.db.schema import api_keys, licences, tenant_thresholds, tenants
from gateway.domain.errors import LicenceExists, TenantExists, TenantNotFound
from gateway.domain.licences import Licence
from gateway.domain.principals import IssuedKey, KeyRecord, Role, issue_key


class TenantRepository:
    def __init__(self, engine: AsyncEngine, cache_ttl_s: float = 0.0) -> None:
        self._engine = engine
        self._keys: TtlCache[str, KeyRecord | None] = TtlCache(cache_ttl_s)

    async def create(self, name: str, role: Role, now: dt.datetime) -> tuple[str, IssuedKey]:
        tenant_id = uuid.uuid4().hex
        key = issue_key()
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(tenants).values(id=tenant_id, name=name, created_at=now))
                await conn.execute(insert(api_keys).values(_key_row(key, tenant_id, role, now)))
        except IntegrityError as exc:
            raise TenantExists(f"a tenant named {name!r} exists") from exc
        return tenant_id, key

    async def add_key(self, tenant_id: str, role: Role, now: dt.datetime) -> IssuedKey:
        """Another key for the tenant (rotation: the old one stays valid until revoked)."""
        key = issue_key()
        async with self._engine.begin() as conn:
            found = await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id))
            if found.first() is None:
                raise TenantNotFound(f"no tenant {tenant_id}")
            await conn.execute(insert(api_keys).values(_key_row(key, tenant_id, role, now)))
        return key

    async def revoke_key(self, tenant_id: str, key_id: str, now: dt.datetime) -> bool:
        """The key (and every upload token it issued) stops working; False if unknown."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.key_id == key_id,
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        self._keys.forget(key_id)
        return bool(result.rowcount)

    async def reviewer_actors(self) -> set[str]:
        """Every unrevoked reviewer key, as review items name their deciders."""
        query = select(api_keys.c.key_id).where(
            api_keys.c.role == Role.REVIEWER.value, api_keys.c.revoked_at.is_(None)
        )
        async with self._engine.connect() as conn:
            return {f"key:{row.key_id}" for row in await conn.execute(query)}

    async def find_key(self, key_id: str) -> KeyRecord | None:
        return await self._keys.get(key_id, lambda: self._load_key(key_id))

    async def _load_key(self, key_id: str) -> KeyRecord | None:
        query = (
            select(
                api_keys.c.key_id,
                api_keys.c.tenant_id,
                api_keys.c.secret_hash,
                api_keys.c.role,
                *ACCOUNT_COLUMNS,
            )
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return KeyRecord(
            row.key_id, row.tenant_id, row.secret_hash, Role(row.role), account_from_row(row)
        )

    async def exists(self, tenant_id: str) -> bool:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id))
            ).first()
        return row is not None


class LicenceRepository:
    def __init__(self, engine: AsyncEngine, cache_ttl_s: float = 0.0) -> None:
        self._engine = engine
        self._held: TtlCache[str, list[tuple[int, Licence]]] = TtlCache(cache_ttl_s)

    async def add(self, tenant_id: str, licence: Licence, now: dt.datetime) -> int:
        async with self._engine.begin() as conn:
            found = await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id))
            if found.first() is None:
                raise TenantNotFound(f"no tenant {tenant_id}")
            try:
                result = await conn.execute(
                    insert(licences).values(
                        tenant_id=tenant_id,
                        licence_type=licence.licence_type,
                        number=licence.number,
                        holder=licence.holder,
                        valid_from=licence.valid_from,
                        valid_until=licence.valid_until,
                        scopes=sorted(licence.scopes),
                        created_at=now,
                    )
                )
            except IntegrityError as exc:
                raise LicenceExists("this licence is already registered") from exc
        self._held.forget(tenant_id)
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no licence id")
        return int(key[0])

    async def held_by(self, tenant_id: str) -> list[tuple[int, Licence]]:
        return await self._held.get(tenant_id, lambda: self._load_held(tenant_id))

    async def _load_held(self, tenant_id: str) -> list[tuple[int, Licence]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(licences).where(licences.c.tenant_id == tenant_id))
            return [
                (
                    row.id,
                    Licence(
                        licence_type=row.licence_type,
                        number=row.number,
                        holder=row.holder,
                        valid_from=row.valid_from,
                        valid_until=row.valid_until,
                        scopes=frozenset(row.scopes),
                    ),
                )
                for row in rows
            ]


class ThresholdRepository:
    """Per-tenant thresholds that override the policy's for one detector label."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def set(
        self, tenant_id: str, label: str, review_at: float, block_at: float, now: dt.datetime
    ) -> None:
        async with self._engine.begin() as conn:
            found = await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id))
            if found.first() is None:
                raise TenantNotFound(f"no tenant {tenant_id}")
            await conn.execute(
                delete(tenant_thresholds).where(
                    tenant_thresholds.c.tenant_id == tenant_id, tenant_thresholds.c.label == label
                )
            )
            await conn.execute(
                insert(tenant_thresholds),
                {
                    "tenant_id": tenant_id,
                    "label": label,
                    "review_at": review_at,
                    "block_at": block_at,
                    "updated_at": now,
                },
            )

    async def for_tenant(self, tenant_id: str) -> dict[str, dict[str, float]]:
        query = select(tenant_thresholds).where(tenant_thresholds.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {r.label: {"review_at": r.review_at, "block_at": r.block_at} for r in rows}


def _key_row(key: IssuedKey, tenant_id: str, role: Role, now: dt.datetime) -> dict[str, Any]:
    """An api_keys row: the hash of the secret, never the secret."""
    return {
        "key_id": key.key_id,
        "tenant_id": tenant_id,
        "secret_hash": key.secret_hash,
        "role": role.value,
        "created_at": now,
    }
