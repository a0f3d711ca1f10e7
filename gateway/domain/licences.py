"""Licence pre-flight rules (clauses 3.1.10.1 and 3.1.3.1; per-video rights, clause 5.1).

The rules themselves are data (`policies/licences.yaml`); this module only evaluates them.
`check_upload_licence` is pure: it takes the declared metadata, the tenant's registered
licences and today's date, and either returns the accepted licence or raises
`LicenceRejected` with a specific code and the clause that applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.errors import (
    ContentCategoryUnknown,
    LicenceExpired,
    LicenceMissing,
    LicenceOutOfScope,
    LicenceUnknown,
    MetadataInvalid,
    RightsExpired,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LicenceType(_Frozen):
    name_zh: str
    name_en: str


class ContentCategory(_Frozen):
    name_zh: str
    name_en: str
    # Licence scopes that cover this category; empty means any accepted licence covers it.
    requires_scope: tuple[str, ...] = ()
    clause: str = "3.1.10.1"


class LicenceRules(_Frozen):
    id: str
    version: int
    clause: str
    licence_types: dict[str, LicenceType]
    # Which licence types an upload may declare (a video site needs 视听节目许可证).
    accepted_for_upload: tuple[str, ...]
    categories: dict[str, ContentCategory]
    default_category: str
    rights_clause: str = Field(default="5.1")

    def model_post_init(self, _context: object) -> None:
        unknown = [t for t in self.accepted_for_upload if t not in self.licence_types]
        if unknown:
            raise ValueError(f"accepted_for_upload names unknown licence types: {unknown}")
        if self.default_category not in self.categories:
            raise ValueError(f"default_category {self.default_category!r} is not a category")


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence a tenant registered (`vodgate licence add`)."""

    licence_type: str
    number: str
    holder: str
    valid_from: dt.date
    valid_until: dt.date
    scopes: frozenset[str]


def parse_metadata_date(key: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise MetadataInvalid(f"Upload-Metadata {key} must be a date as YYYY-MM-DD") from exc


def check_upload_licence(
    rules: LicenceRules,
    metadata: Mapping[str, str],
    held: Sequence[Licence],
    today: dt.date,
) -> Licence:
    """Return the licence that covers this upload, or raise `LicenceRejected`."""
    check_declared_licence(rules, metadata, today)
    licence_type = metadata["licence_type"].strip()
    number = metadata["licence_number"].strip()
    licence = next(
        (lic for lic in held if lic.licence_type == licence_type and lic.number == number), None
    )
    if licence is None:
        raise LicenceUnknown("this account holds no such licence", clause=rules.clause)
    if not licence.valid_from <= today <= licence.valid_until:
        raise LicenceExpired(
            f"licence is valid from {licence.valid_from} until {licence.valid_until}",
            clause=rules.clause,
        )
    _check_scope(rules, metadata, licence)
    return licence


def check_declared_licence(
    rules: LicenceRules, metadata: Mapping[str, str], today: dt.date
) -> None:
    """What the declaration alone decides, with no registry: the licence is named, of a type
    that permits publishing video, the category is known and the rights have not lapsed."""
    licence_type = metadata.get("licence_type", "").strip()
    number = metadata.get("licence_number", "").strip()
    if not licence_type or not number:
        raise LicenceMissing(
            "Upload-Metadata must declare licence_type and licence_number", clause=rules.clause
        )
    if licence_type not in rules.accepted_for_upload:
        raise LicenceUnknown(
            f"licence type {licence_type!r} does not permit publishing video; "
            f"accepted: {', '.join(rules.accepted_for_upload)}",
            clause=rules.clause,
        )
    _category(rules, metadata)
    _check_rights(rules, metadata, today)


def _category(rules: LicenceRules, metadata: Mapping[str, str]) -> tuple[str, ContentCategory]:
    name = metadata.get("content_category", "").strip() or rules.default_category
    category = rules.categories.get(name)
    if category is None:
        raise ContentCategoryUnknown(
            f"unknown content_category {name!r}; known: {', '.join(sorted(rules.categories))}",
            clause=rules.clause,
        )
    return name, category


def _check_scope(rules: LicenceRules, metadata: Mapping[str, str], licence: Licence) -> None:
    category_name, category = _category(rules, metadata)
    if category.requires_scope and not licence.scopes.intersection(category.requires_scope):
        raise LicenceOutOfScope(
            f"content_category {category_name!r} needs an approval in scope "
            f"{' or '.join(category.requires_scope)} on the licence",
            clause=category.clause,
        )


def _check_rights(rules: LicenceRules, metadata: Mapping[str, str], today: dt.date) -> None:
    expires = metadata.get("rights_expires", "").strip()
    if not expires:
        return
    if not metadata.get("rights_holder", "").strip():
        raise MetadataInvalid("rights_expires needs rights_holder", clause=rules.rights_clause)
    if parse_metadata_date("rights_expires", expires) < today:
        raise RightsExpired(
            f"the rights to this video expired on {expires}", clause=rules.rights_clause
        )
