from __future__ import annotations

import base64

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


# Header-shaped text: pairs of a key and a value that may be base64 of UTF-8, base64 of
# other bytes, or not base64 at all, with stray spaces and commas; and arbitrary text.
_b64 = st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
_pair = st.tuples(
    st.one_of(keys, st.just(""), st.text(max_size=5)),
    st.one_of(_b64, values, st.just("")),
).map(lambda kv: f"{kv[0]} {kv[1]}".rstrip())
headers = st.one_of(
    st.lists(_pair, max_size=6).map(",".join),
    st.text(max_size=300),
)


@given(headers)
def test_metadata_parser_answers_a_dict_or_a_400_metadata_error(header: str) -> None:
    try:
        parsed = parse_metadata(header, max_bytes=10_000)
    except ClientError as exc:
        refused = (exc.status, exc.code)
        assert refused == (400, "metadata_invalid")
        return
    # What it accepts is what a client meant: encoding it again parses to the same.
    assert all(isinstance(k, str) and k and isinstance(v, str) for k, v in parsed.items())
    assert parse_metadata(encode_metadata(parsed), max_bytes=1_000_000) == parsed


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
