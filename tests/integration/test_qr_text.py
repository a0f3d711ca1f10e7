"""QR codes end to end (issue 27, item 5) with real ffmpeg, zxing-cpp, the shipped lists and
policy: a code's text is read against the keyword lists, an unlisted domain whose name
carries gambling tokens goes to review, an ordinary link is only observed, and a code full of
text is read within MAX_PAYLOAD_CHARS."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.adapters.detectors.qr_codes import MAX_PAYLOAD_CHARS
from gateway.services.screener import Screener
from tests.integration.test_text_screening import frames_of, screen, text_screener
from tests.text_media import qr_clip


@pytest.fixture(scope="module")
def screener() -> Screener:
    return text_screener()


async def test_a_code_with_gambling_text_is_flagged_by_the_keyword_lists(
    screener: Screener, tmp_path: Path
) -> None:
    record = await screen(screener, qr_clip(tmp_path / "ad.mp4", "澳门赌场 加微信 abc123"))
    assert record.verdict == "block"
    assert "3.1.10.3(4)" in record.clauses
    (hit,) = frames_of(record, "qr_text:gambling")
    assert (hit["term"], hit["text"], hit["source"]) == ("澳门赌场", "澳门赌场 加微信 abc123", "qr")
    assert hit["box"] is not None
    assert record.observed == ()


async def test_an_unlisted_casino_style_domain_goes_to_review(
    screener: Screener, tmp_path: Path
) -> None:
    record = await screen(screener, qr_clip(tmp_path / "xpj.mp4", "http://xpj8888-bet.example/"))
    assert record.verdict == "review"
    (hit,) = frames_of(record, "qr_domain:gambling")
    assert (hit["term"], hit["normalised"]) == ("xpj", "xpj8888-bet.example")
    assert [h.item for h in record.hits or ()] == ["3.1.10.3(4)"]


async def test_an_ordinary_link_is_only_observed(screener: Screener, tmp_path: Path) -> None:
    record = await screen(screener, qr_clip(tmp_path / "ok.mp4", "https://www.example.com/"))
    assert record.verdict == "pass"
    assert record.hits == ()
    assert [(o.text, o.source) for o in record.observed] == [("https://www.example.com/", "qr")]


async def test_a_code_full_of_text_is_read_within_its_bound(
    screener: Screener, tmp_path: Path
) -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 50
    payload = ("网上赌场 " + filler)[:2900]  # a version-40 code; the term at its start
    assert len(payload.encode()) > 2800
    record = await screen(screener, qr_clip(tmp_path / "long.mp4", payload))
    assert record.verdict == "block"
    (hit,) = frames_of(record, "qr_text:gambling")
    assert hit["term"] == "网上赌场"
    assert hit["text"] == payload[:MAX_PAYLOAD_CHARS]
