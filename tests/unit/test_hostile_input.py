"""Hostile input, generated: every parser of client bytes answers a value or its own 4xx
error, never anything else (security review, item 11). The tus metadata parser has its own
property tests in test_tus_headers.py."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.domain import upload_tokens
from gateway.domain.errors import ClientError
from gateway.domain.tus_headers import parse_checksum, parse_length
from gateway.http.openapi import BODY_MODELS
from gateway.services.views import decode_cursor

NOW = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
text = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[0-9 +\-.eE_]{0,24}", fullmatch=True),  # number-shaped
    st.from_regex(r"(sha1|sha256|md5|crc32)? ?[A-Za-z0-9+/=]{0,60}", fullmatch=True),
)


def _answers_or_refuses(call: object, *args: object) -> None:
    """Any other exception fails the test; a ClientError must be a 4xx."""
    refused: ClientError | None = None
    try:
        call(*args)  # type: ignore[operator]
    except ClientError as exc:
        refused = exc
    assert refused is None or 400 <= refused.status < 500 or refused.status == 460


@given(text)
def test_lengths_and_offsets(value: str) -> None:
    _answers_or_refuses(lambda v: parse_length("Upload-Length", v, max_size=1 << 40), value)


@given(text)
def test_checksums(value: str) -> None:
    _answers_or_refuses(parse_checksum, value)


@given(st.one_of(st.text(max_size=300), st.from_regex(r"vgt1\.[A-Za-z0-9_\-.]{0,200}")))
@settings(max_examples=300)
def test_upload_tokens(value: str) -> None:
    def decode(raw: str) -> None:
        upload_tokens.key_id_of(raw)
        upload_tokens.decode(raw, b"k" * 32, NOW)

    _answers_or_refuses(decode, value)


@given(st.text(max_size=120))
def test_list_cursors(value: str) -> None:
    _answers_or_refuses(decode_cursor, value)


@given(st.sampled_from(BODY_MODELS), st.one_of(st.binary(max_size=300), st.text(max_size=300)))
@settings(max_examples=300)
def test_json_bodies_validate_or_name_the_field(model: type, raw: bytes | str) -> None:
    errors: list[object] | None = None
    try:
        model.model_validate_json(raw)  # type: ignore[attr-defined]
    except ValidationError as exc:
        errors = list(exc.errors())
    assert errors is None or errors  # read_json turns the first into a 400 naming the field
