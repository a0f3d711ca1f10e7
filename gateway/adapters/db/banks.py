"""Banks, their entries and frame hashes (the BankStore port), in SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.adapters.db.schema import (
    bank_audio,
    bank_audit,
    bank_entries,
    bank_hashes,
    bank_thumbnails,
    banks,
    tenants,
)
from gateway.domain.banks import Bank, BankEntry, BankKind, FrameHash
from gateway.domain.errors import BankEntryNotFound, BankExists, BankNotFound, TenantNotFound
from gateway.domain.ports.banks import IndexedHash, NewEntry

# Rows inserted per statement when a long reference is stored.
HASH_BATCH = 5000


class SqlBankStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, bank: Bank, now: dt.datetime) -> None:
        try:
            async with self._engine.begin() as conn:
                if bank.owner_tenant is not None:
                    owner = select(tenants.c.id).where(tenants.c.id == bank.owner_tenant)
                    if (await conn.execute(owner)).first() is None:
                        raise TenantNotFound(f"no tenant {bank.owner_tenant!r}")
                await conn.execute(
                    insert(banks).values(
                        name=bank.name,
                        kind=bank.kind.value,
                        item=bank.item,
                        owner_tenant=bank.owner_tenant,
                        enabled=bank.enabled,
                        max_distance=bank.max_distance,
                        min_matched_s=bank.min_matched_s,
                        min_frames=bank.min_frames,
                        version=0,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            raise BankExists(f"a bank named {bank.name!r} exists") from exc

    async def get(self, name: str) -> Bank | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(banks).where(banks.c.name == name))).first()
        return None if row is None else _bank(row._mapping)

    async def banks(self) -> list[tuple[Bank, int]]:
        counts = (
            select(bank_entries.c.bank, func.count().label("n"))
            .group_by(bank_entries.c.bank)
            .subquery()
        )
        query = (
            select(banks, func.coalesce(counts.c.n, 0).label("entries"))
            .outerjoin(counts, counts.c.bank == banks.c.name)
            .order_by(banks.c.name)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(_bank(row._mapping), int(row.entries)) for row in rows]

    async def add_entry(
        self, bank: str, entry: NewEntry, now: dt.datetime
    ) -> tuple[BankEntry, bool]:
        async with self._engine.begin() as conn:
            if (
                await conn.execute(select(banks.c.name).where(banks.c.name == bank))
            ).first() is None:
                raise BankNotFound(f"no bank named {bank!r}")
            existing = (
                await conn.execute(
                    select(bank_entries).where(
                        bank_entries.c.bank == bank, bank_entries.c.sha256 == entry.sha256
                    )
                )
            ).first()
            if existing is not None:
                return _entry(existing._mapping), False
            entry_id = (
                await conn.execute(
                    insert(bank_entries)
                    .values(
                        bank=bank,
                        reference=entry.reference[:200],
                        sha256=entry.sha256,
                        upload_id=entry.upload_id,
                        added_by=entry.added_by,
                        added_at=now,
                        duration_s=entry.duration_s,
                        frames=len({h.timestamp_s for h in entry.hashes}),  # frames, not crops
                    )
                    .returning(bank_entries.c.id)
                )
            ).scalar_one()
            rows = [
                {"entry_id": entry_id, "t_s": h.timestamp_s, "pdq": h.pdq, "quality": h.quality}
                for h in entry.hashes
            ]
            for start in range(0, len(rows), HASH_BATCH):
                await conn.execute(insert(bank_hashes), rows[start : start + HASH_BATCH])
            thumbs = [{"entry_id": entry_id, "t_s": t, "jpeg": jpeg} for t, jpeg in
                      dict(entry.thumbnails).items()]  # fmt: skip
            for start in range(0, len(thumbs), HASH_BATCH):
                await conn.execute(insert(bank_thumbnails), thumbs[start : start + HASH_BATCH])
            if entry.audio:
                await conn.execute(
                    insert(bank_audio).values(entry_id=entry_id, fingerprint=list(entry.audio))
                )
            await _changed(
                conn, bank, entry_id, "add", entry.added_by, now,
                {"reference": entry.reference[:200], "sha256": entry.sha256,
                 "upload_id": entry.upload_id, "hashes": len(entry.hashes)},
            )  # fmt: skip
            row = (
                await conn.execute(select(bank_entries).where(bank_entries.c.id == entry_id))
            ).one()
        return _entry(row._mapping), True

    async def remove_entry(self, bank: str, entry_id: int, actor: str, now: dt.datetime) -> None:
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(bank_entries).where(
                        bank_entries.c.id == entry_id, bank_entries.c.bank == bank
                    )
                )
            ).first()
            if row is None:
                raise BankEntryNotFound(f"bank {bank!r} has no entry {entry_id}")
            await conn.execute(delete(bank_hashes).where(bank_hashes.c.entry_id == entry_id))
            await conn.execute(delete(bank_audio).where(bank_audio.c.entry_id == entry_id))
            await conn.execute(
                delete(bank_thumbnails).where(bank_thumbnails.c.entry_id == entry_id)
            )
            await conn.execute(delete(bank_entries).where(bank_entries.c.id == entry_id))
            await _changed(
                conn,
                bank,
                entry_id,
                "remove",
                actor,
                now,
                {
                    "reference": row.reference,
                    "sha256": row.sha256,
                    "upload_id": row.upload_id,
                    "added_by": row.added_by,
                },
            )

    async def entries(self, bank: str) -> list[BankEntry]:
        query = select(bank_entries).where(bank_entries.c.bank == bank).order_by(bank_entries.c.id)
        async with self._engine.connect() as conn:
            return [_entry(row._mapping) for row in (await conn.execute(query)).all()]

    async def entry(self, entry_id: int) -> BankEntry | None:
        query = select(bank_entries).where(bank_entries.c.id == entry_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _entry(row._mapping)

    async def hashes(self, entry_id: int) -> list[FrameHash]:
        query = (
            select(bank_hashes.c.t_s, bank_hashes.c.pdq, bank_hashes.c.quality)
            .where(bank_hashes.c.entry_id == entry_id)
            .order_by(bank_hashes.c.t_s, bank_hashes.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [FrameHash(float(r.t_s), str(r.pdq), int(r.quality)) for r in rows]

    async def versions(self) -> tuple[tuple[str, int, bool], ...]:
        query = select(banks.c.name, banks.c.version, banks.c.enabled).order_by(banks.c.name)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return tuple((str(r.name), int(r.version), bool(r.enabled)) for r in rows)

    async def thumbnail(self, entry_id: int, timestamp_s: float) -> bytes | None:
        query = (
            select(bank_thumbnails.c.jpeg)
            .where(bank_thumbnails.c.entry_id == entry_id)
            .order_by(func.abs(bank_thumbnails.c.t_s - timestamp_s))
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else bytes(row.jpeg)

    async def indexed_audio(self) -> dict[int, tuple[str, list[int]]]:
        return await _audio(self._engine)

    async def indexed_hashes(self) -> list[IndexedHash]:
        query = (
            select(
                bank_hashes.c.entry_id, bank_entries.c.bank, bank_hashes.c.t_s, bank_hashes.c.pdq
            )
            .join(bank_entries, bank_entries.c.id == bank_hashes.c.entry_id)
            .join(banks, banks.c.name == bank_entries.c.bank)
            .where(banks.c.enabled.is_(True))
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [IndexedHash(int(r.entry_id), str(r.bank), float(r.t_s), str(r.pdq)) for r in rows]


async def _changed(
    conn: AsyncConnection,
    bank: str,
    entry_id: int,
    action: str,
    actor: str,
    now: dt.datetime,
    detail: dict[str, Any],
) -> None:
    """An entry added or removed: the bank's version moves (every process rebuilds its
    index) and the change is audited, in the same transaction."""
    await conn.execute(
        update(banks).where(banks.c.name == bank).values(version=banks.c.version + 1)
    )
    await conn.execute(
        insert(bank_audit).values(
            bank=bank, entry_id=entry_id, action=action, actor=actor, at=now, detail=detail
        )
    )


async def _audio(engine: AsyncEngine) -> dict[int, tuple[str, list[int]]]:
    query = (
        select(bank_audio.c.entry_id, bank_entries.c.bank, bank_audio.c.fingerprint)
        .join(bank_entries, bank_entries.c.id == bank_audio.c.entry_id)
        .join(banks, banks.c.name == bank_entries.c.bank)
        .where(banks.c.enabled.is_(True))
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {int(r.entry_id): (str(r.bank), [int(v) for v in r.fingerprint]) for r in rows}


def _bank(row: Any) -> Bank:
    return Bank(
        name=row["name"], kind=BankKind(row["kind"]), item=row["item"],
        owner_tenant=row["owner_tenant"], enabled=bool(row["enabled"]),
        max_distance=int(row["max_distance"]), min_matched_s=float(row["min_matched_s"]),
        min_frames=int(row["min_frames"]), version=int(row["version"]),
    )  # fmt: skip


def _entry(row: Any) -> BankEntry:
    return BankEntry(
        id=int(row["id"]), bank=row["bank"], reference=row["reference"], sha256=row["sha256"],
        upload_id=row["upload_id"], added_by=row["added_by"], added_at=row["added_at"],
        duration_s=float(row["duration_s"]), frames=int(row["frames"]),
    )  # fmt: skip
