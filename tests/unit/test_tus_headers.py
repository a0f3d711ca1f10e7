from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.errors import ClientError, PayloadTooLarge
from gateway.domain.tus_headers import encode_metadata, parse_checksum, parse_length, parse_metadata

keys = st.text(
    alphabet=st.characters(blacklist_categories=("Z", "C"), blacklist_characters=","),
    min_size=1,
    max_size=20,
)
values = st.text(max_size=200)


@given(st.dictionaries(keys, values, max_size=10))
def test_metadata_round_trips(metadata: dict[str, str]) -> None:
    assert parse_metadata(encode_metadata(metadata), max_bytes=1_000_000) == metadata


@given(st.text(max_size=300))
def test_metadata_parser_never_fails_with_anything_but_a_client_error(header: str) -> None:
    try:
        parse_metadata(header, max_bytes=10_000)
    except ClientError as exc:
        status = exc.status
    else:
        status = 400
    assert status == 400


def test_metadata_size_limit() -> None:
    with pytest.raises(ClientError, match="limit") as info:
        parse_metadata("a " + "QUFB" * 100, max_bytes=100)
    assert info.value.code == "metadata_too_large"


@pytest.mark.parametrize("value", ["0", "1", "007", "9223372036854775807"])
def test_lengths_accepted(value: str) -> None:
    assert parse_length("Upload-Length", value) == int(value)


@pytest.mark.parametrize(
    "value", ["-1", "+1", "1.0", "0x10", " ", "١٢", "1 2", "12345678901234567890"]
)
def test_lengths_refused(value: str) -> None:
    with pytest.raises(ClientError) as info:
        parse_length("Upload-Length", value)
    assert info.value.status == 400


def test_length_over_the_maximum_is_413() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_length("Upload-Length", "11", max_size=10)


def test_checksum_parsing() -> None:
    assert parse_checksum(None) is None
    algorithm, digest = parse_checksum("md5 " + "A" * 22 + "==") or ("", b"")
    assert algorithm == "md5"
    assert len(digest) == 16
    for bad in ["sha512 AAAA", "md5 !!!", "md5 AAAA", "md5"]:
        with pytest.raises(ClientError):
            parse_checksum(bad)
