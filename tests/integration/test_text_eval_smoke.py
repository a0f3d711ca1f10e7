"""The text-screening evaluation (issue 27) cannot rot: its sets are what the issue asks for,
and bench/text_eval.py makes and screens a tiny slice of short clips with the real screener.
The figures themselves are the bench's to print, not this test's to assert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gateway.adapters.policy_files import load_content_policy
from gateway.runtime.settings import PROJECT_ROOT
from tests.text_eval.generate import STYLES, clips, disjoint_wording, missing_fonts


def test_the_sets_cover_each_item_with_ocr_lists_in_wording_of_their_own() -> None:
    policy = load_content_policy(PROJECT_ROOT / "policies" / "prohibited-content.yaml")
    with_ocr_lists = {
        item.id
        for item in policy.items
        if item.clause == "3.1.10.3" and any(r.label.startswith("ocr:") for r in item.detectors)
    }
    heldout = clips("heldout")
    assert heldout == clips("heldout")  # seeded: the same clips every run
    short = clips("heldout", duration_s=8)  # only shorter
    assert [(c.name, c.theme, c.style, c.font, c.background) for c in short] == [
        (c.name, c.theme, c.style, c.font, c.background) for c in heldout
    ]
    assert [c.text for c in short if c.positive] == [c.text for c in heldout if c.positive]
    assert sum(c.positive for c in heldout) >= 150
    assert sum(not c.positive for c in heldout) >= 60
    for which in ("heldout", "tuning"):
        made = clips(which)
        assert {c.expected for c in made if c.positive} == with_ocr_lists
        assert {c.style for c in made if c.positive} == set(STYLES)
        assert {c.style for c in made if not c.positive} == set(STYLES)
        assert len({c.name for c in made}) == len(made)
    # Neither set repeats the other's wording nor test_ocr_recall.py's.
    assert disjoint_wording() == []
    assert {c.name for c in clips("tuning")}.isdisjoint(c.name for c in heldout)
    assert missing_fonts() == [], "make deps installs the CJK fonts"


def test_the_runner_screens_a_tiny_slice(tmp_path: Path) -> None:
    short = clips("tuning", duration_s=8)
    picked = [
        next(c for c in short if c.positive and c.style == "subtitle"),
        next(c for c in short if c.positive and c.style in {"vertical", "rotated"}),
        next(c for c in short if c.theme == "ticker"),
        next(c for c in short if c.theme == "false_friend"),
    ]
    names = [c.name for c in short if c in picked]  # the set's order
    command = [
        sys.executable, "bench/text_eval.py", "--set", "tuning", "--duration", "8",
        "--only", ",".join(names), "--cache", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(
        [*command, "--json"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [c["name"] for c in report["clips"]] == names
    assert report["overall"]["positives"] == 2
    assert report["overall"]["clean"] == 2
    assert report["overall"]["errors"] == 0
    for clip in report["clips"]:
        assert clip["verdict"] in {"pass", "review", "block"}
        assert clip["hit"] in ({True, False} if clip["expected"] else {None})
    by_style = {row["value"]: row for row in report["tables"]["style"]}
    assert sum(row["positives"] + row["clean"] for row in by_style.values()) == 4
    assert {row["value"] for row in report["tables"]["item"]} == {
        *(c.expected for c in picked if c.expected),
        "clean",
    }
    assert f"[  4/4] {names[-1]}" in done.stderr
    assert len(list(tmp_path.rglob("*.mp4"))) == 4
    saved = tmp_path / "run.json"
    saved.write_text(done.stdout, encoding="utf-8")
    shown = subprocess.run(
        [sys.executable, "bench/text_eval.py", "--report", str(saved), "--misses"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "by item" in shown.stdout

    again = subprocess.run(  # a clip comes from the cache; the text report
        [*command[:-4], "--only", names[0], "--cache", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "(cached)" in again.stderr
    assert "by style" in again.stdout
    assert "overall recall" in again.stdout
    assert "recall on 1 s flashes" in again.stdout
