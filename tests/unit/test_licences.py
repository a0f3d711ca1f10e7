from __future__ import annotations

import datetime as dt

import pytest

from gateway.adapters.policy_files import load_licence_rules
from gateway.domain.errors import ClientError, LicenceRejected
from gateway.domain.licences import Licence, check_upload_licence
from gateway.runtime.settings import PROJECT_ROOT

RULES = load_licence_rules(PROJECT_ROOT / "policies")
TODAY = dt.date(2026, 11, 27)
HELD = [
    Licence("avsp", "A-1", "Acme", dt.date(2025, 1, 1), dt.date(2027, 1, 1), frozenset({"news"})),
    Licence("avsp", "A-2", "Acme", dt.date(2020, 1, 1), TODAY, frozenset()),
]


def check(**metadata: str) -> Licence:
    return check_upload_licence(RULES, metadata, HELD, TODAY)


def test_the_policy_file_names_every_category_of_3_1_3_1() -> None:
    needing_approval = {n for n, c in RULES.categories.items() if c.requires_scope}
    assert {"news", "publishing", "education", "medical", "drugs_and_devices"} <= needing_approval
    assert RULES.accepted_for_upload == ("avsp",)


def test_licence_valid_through_its_last_day() -> None:
    assert check(licence_type="avsp", licence_number="A-2").number == "A-2"
    with pytest.raises(LicenceRejected) as info:
        check_upload_licence(
            RULES,
            {"licence_type": "avsp", "licence_number": "A-2"},
            HELD,
            TODAY + dt.timedelta(days=1),
        )
    assert info.value.code == "licence_expired"


def test_licence_not_yet_valid_is_expired_code() -> None:
    with pytest.raises(LicenceRejected) as info:
        check_upload_licence(
            RULES, {"licence_type": "avsp", "licence_number": "A-1"}, HELD, dt.date(2024, 1, 1)
        )
    assert info.value.code == "licence_expired"


def test_scope_and_rights() -> None:
    assert check(licence_type="avsp", licence_number="A-1", content_category="news")
    with pytest.raises(LicenceRejected) as info:
        check(licence_type="avsp", licence_number="A-2", content_category="news")
    assert (info.value.code, info.value.clause) == ("licence_out_of_scope", "3.1.3.1")
    assert check(
        licence_type="avsp", licence_number="A-1", rights_holder="S", rights_expires="2026-11-27"
    )
    with pytest.raises(LicenceRejected) as info:
        check(
            licence_type="avsp",
            licence_number="A-1",
            rights_holder="S",
            rights_expires="2026-11-26",
        )
    assert info.value.code == "rights_expired"


def test_whitespace_only_declarations_count_as_missing() -> None:
    with pytest.raises(LicenceRejected) as info:
        check(licence_type="  ", licence_number="A-1")
    assert info.value.code == "licence_missing"


def test_a_policy_naming_unknown_types_is_refused() -> None:
    data = RULES.model_dump()
    data["accepted_for_upload"] = ["nope"]
    with pytest.raises(ValueError, match="unknown licence types"):
        type(RULES).model_validate(data)
    with pytest.raises(ClientError):
        check(licence_type="avsp", licence_number="A-1", content_category="??")
