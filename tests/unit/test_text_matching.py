"""Keyword and domain lists: the normal form, matching, allow-lists, links, list files."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from gateway.adapters.text.keyword_matcher import KeywordMatcher
from gateway.adapters.text.links import DomainLists, find_links, registrable_domain
from gateway.adapters.text.live_lists import LiveLists
from gateway.adapters.text.normalise import normalise, normalise_many, normalise_with_map
from gateway.adapters.text.term_lists import TermList, load_lists, read_terms
from gateway.domain.errors import ConfigError
from gateway.domain.licence_on_screen import differs, shown_numbers
from gateway.runtime.settings import PROJECT_ROOT


def lists(**terms: tuple[str, ...]) -> dict[str, TermList]:
    return {name: TermList(name, words, (), ()) for name, words in terms.items()}


@pytest.mark.parametrize(
    "written",
    [
        "赌场",
        "赌 场",
        "赌-场",
        "赌.场",
        "賭場",
        "賭　場",
        "ＢＥＴ３６５",
        "Bet365",
        "b3t365",
        "bet 3 6 5",
    ],
)
def test_variants_meet_one_normal_form(written: str) -> None:
    matcher = KeywordMatcher(lists(gambling=("赌场", "bet365")))
    hits = matcher.find(f"今晚{written}开户")
    assert [h.list_name for h in hits] == ["gambling"], written
    start, end = hits[0].span
    assert normalise(f"今晚{written}开户"[start:end]) in {normalise("赌场"), normalise("bet365")}


def test_normal_form_keeps_where_each_character_came_from() -> None:
    normal, origin = normalise_with_map("a 賭-場!")
    assert normal == "a赌场"
    assert origin == [0, 2, 4]
    assert normalise_many(["賭 場", "ＢＥＴ", "", "！！"]) == ["赌场", "bet", "", ""]


def test_allow_list_drops_a_false_friend_but_not_the_term_elsewhere() -> None:
    matcher = KeywordMatcher(
        {"gambling": TermList("gambling", ("赌场", "赌博"), ("赌场风云", "远离赌博"), ())}
    )
    assert matcher.find("电影《赌场风云》今晚播出") == []
    assert matcher.find("珍爱生命，远离赌博") == []
    hits = matcher.find("赌场风云之后去赌场")
    assert [(h.term, h.span) for h in hits] == [("赌场", (7, 9))]


def test_a_term_inside_a_longer_term_of_its_list_is_one_hit() -> None:
    matcher = KeywordMatcher(lists(gambling=("赌场", "线上赌场"), other=("赌场",)))
    hits = matcher.find("线上赌场")
    assert sorted((h.list_name, h.term) for h in hits) == [
        ("gambling", "线上赌场"),
        ("other", "赌场"),
    ]


def test_no_lists_or_punctuation_only_terms_match_nothing() -> None:
    assert KeywordMatcher({}).find("赌场") == []
    assert KeywordMatcher(lists(odd=("!!!", "  "))).find("!!! 赌场") == []


def test_links_are_reduced_to_registrable_domains() -> None:
    found = find_links(
        "扫码访问 WWW.Bet365。com/x 或 https://a.b.example.co.uk 和 video.mp4 1.2.3.4"
    )
    assert [(link.host, link.domain) for link in found] == [
        ("www.bet365.com", "bet365.com"),
        ("a.b.example.co.uk", "example.co.uk"),
    ]
    assert registrable_domain("localhost") is None
    assert registrable_domain("127.0.0.1") is None
    domains = DomainLists(lists(gambling=("bet365.com",)))
    assert [h.entry for h in domains.check(found[0])] == ["bet365.com"]
    assert domains.check(found[1]) == []
    # A listed name is not matched inside another registrable domain.
    assert domains.check(find_links("notbet365.com")[0]) == []


def test_on_screen_licence_numbers() -> None:
    assert shown_numbers("信息网络传播视听节目许可证号：1109364") == ["1109364"]
    assert shown_numbers("許可證號 0108-2026-TEST") == ["0108-2026-test"]
    assert shown_numbers("今天天气很好 1234567") == []
    assert not differs("0108-2026-TEST", "01082026test")
    assert differs("1109364", "1109365")


def test_list_files(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "gambling.txt").write_text("# comment\n赌场  # trailing comment\n\n  百家乐 \n")
    (tmp_path / "gambling.allow.txt").write_text("赌场风云\n")
    (tmp_path / "README.md").write_text("not a list")
    loaded = load_lists(tmp_path)
    assert sorted(loaded) == ["empty", "gambling"]
    assert loaded["empty"].terms == ()
    assert loaded["gambling"].terms == ("赌场", "百家乐")
    assert loaded["gambling"].allowed == ("赌场风云",)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes("赌场\n百家乐\n".encode() + b"\xff\xfe broken\n")
    with pytest.raises(ConfigError, match="line 3 is not UTF-8"):
        read_terms(bad)
    (tmp_path / "Bad Name.txt").write_text("x")
    with pytest.raises(ConfigError, match="list name"):
        load_lists(tmp_path)


def test_a_million_term_list_loads(tmp_path: Path) -> None:
    folder = tmp_path / "keywords"
    folder.mkdir()
    terms = [f"词条{i:07d}赌" for i in range(1_000_000)]
    (folder / "huge.txt").write_text("\n".join(terms), encoding="utf-8")
    started = time.perf_counter()
    live = LiveLists(folder, tmp_path / "domains")
    seconds = time.perf_counter() - started
    print(f"1,000,000 terms loaded in {seconds:.1f} s")
    assert live.snapshot.keywords.term_count == 1_000_000
    assert [h.term for h in live.snapshot.keywords.find("看词条0999999赌吧")] == [terms[-1]]


async def test_edited_lists_reload_and_a_broken_edit_keeps_the_old_ones(tmp_path: Path) -> None:
    folder = tmp_path / "keywords"
    folder.mkdir()
    (folder / "gambling.txt").write_text("赌场\n")
    live = await asyncio.to_thread(LiveLists, folder, tmp_path / "domains", 0.0)
    assert [h.term for h in (await live.current()).keywords.find("百家乐")] == []

    (folder / "gambling.txt").write_text("赌场\n百家乐\n")
    os.utime(folder / "gambling.txt", ns=(time.time_ns(), time.time_ns() + 10**9))
    assert [h.term for h in (await live.current()).keywords.find("百家乐")] == ["百家乐"]

    (folder / "gambling.txt").write_bytes(b"\xff\xff")
    assert [h.term for h in (await live.current()).keywords.find("百家乐")] == ["百家乐"]


def test_the_shipped_lists_load_and_cover_every_item() -> None:
    live = LiveLists(PROJECT_ROOT / "policies" / "keywords", PROJECT_ROOT / "policies" / "domains")
    keyword_lists = live.snapshot.keywords.lists
    assert all(len(lst.terms) >= 24 for lst in keyword_lists.values()), {
        name: len(lst.terms) for name, lst in keyword_lists.items()
    }
    assert {"gambling", "phishing", "malware"} <= set(live.snapshot.domains.lists)
