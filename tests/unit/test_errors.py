"""The error table: one class per code, statuses in their families, no code spelled at a
raise site."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.domain import errors
from gateway.domain.errors import ClientError, DependencyError, GatewayError, error_table

GATEWAY = Path(errors.__file__).resolve().parents[1]


def _all_classes() -> list[type[GatewayError]]:
    found: list[type[GatewayError]] = []
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_each_code_names_one_class() -> None:
    classes = _all_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    assert set(error_table()) == set(codes)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)


def test_statuses_belong_to_their_family() -> None:
    for cls in _all_classes():
        if issubclass(cls, ClientError):
            assert 400 <= cls.status < 500 or cls.status == 460, cls  # 460: tus checksum
        if issubclass(cls, DependencyError):
            assert 500 <= cls.status < 600, cls


def test_raise_sites_name_a_class_not_a_code() -> None:
    spelled = [
        f"{path.relative_to(GATEWAY)}:{number}"
        for path in GATEWAY.rglob("*.py")
        if path.name != "errors.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bcode=\"", line)
    ]
    assert spelled == []


def test_a_body_shows_code_message_and_clause_only() -> None:
    body = errors.LicenceExpired("licence is valid until 2026-01-01", clause="3.1.10.1").as_body()
    assert body == {
        "error": {
            "code": "licence_expired",
            "message": "licence is valid until 2026-01-01",
            "clause": "3.1.10.1",
        }
    }
