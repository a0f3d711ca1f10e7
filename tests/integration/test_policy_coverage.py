"""`vodgate policy coverage`: every item of 3.1.10.3 with its working detectors; a list that
is removed, or OCR switched off, shows as not provided."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.runtime.settings import PROJECT_ROOT


def coverage(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["policy", "coverage", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_every_item_has_a_working_detector(capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = coverage(capsys)
    assert code == 0
    items = [row["item"] for row in rows]
    assert items[:7] == [f"3.1.10.3({n})" for n in range(1, 8)]
    assert all(row["detectors"] and not row["not_provided"] for row in rows)
    by_item = {row["item"]: row for row in rows}
    assert "qr:gambling" in by_item["3.1.10.3(4)"]["detectors"]  # type: ignore[operator]
    assert by_item["3.1.10.3(7)"]["uncovered"]


def test_keyword_lists_are_counted_per_item_and_kind(capsys: pytest.CaptureFixture[str]) -> None:
    _, rows = coverage(capsys)
    by_item = {row["item"]: row["keywords"] for row in rows}
    gambling = by_item["3.1.10.3(4)"]["gambling"]  # type: ignore[index]
    assert min(gambling["block"], gambling["review"], gambling["context"]) > 0
    assert gambling["block_forms"] > gambling["block"]  # alternatives and word orders expand
    assert min(gambling["cue"], gambling["innocent"]) > 0
    # Every item of 3.1.10.3 has keyword lists; the licence item has none.
    assert all(by_item[f"3.1.10.3({n})"] for n in range(1, 8))
    assert by_item["3.1.10.1"] == {}
    # Politics is review-only by policy and by list.
    assert by_item["3.1.10.3(1)"]["politics"]["block"] == 0  # type: ignore[index]

    main(["policy", "coverage"])
    table = capsys.readouterr().out
    assert "    keywords:   gambling: block " in table
    assert "all keyword lists: block " in table


def test_a_removed_list_and_ocr_switched_off_are_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", policies)
    (policies / "keywords" / "ethnic_religion.txt").unlink()
    # Item (5) without its bank label: the removed list was all it had.
    policy_file = policies / "prohibited-content.yaml"
    policy_file.write_text(
        policy_file.read_text(encoding="utf-8").replace(
            '      - {label: "bank:3.1.10.3-5", review_at: 0.5, block_at: 0.5}\n', ""
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("VODGATE_POLICIES_DIR", str(policies))
    monkeypatch.setenv("VODGATE_OCR", "false")
    code, rows = coverage(capsys, "--data-dir", str(tmp_path / "var"))
    by_item = {row["item"]: row for row in rows}
    assert code == 1  # item (5) is left with nothing
    assert by_item["3.1.10.3(5)"]["detectors"] == []
    assert "ocr:ethnic_religion" in by_item["3.1.10.3(5)"]["not_provided"]  # type: ignore[operator]
    assert by_item["3.1.10.1"]["not_provided"] == ["licence_number:mismatch"]
    assert "ocr:gambling" in by_item["3.1.10.3(4)"]["not_provided"]  # type: ignore[operator]

    main(["policy", "coverage", "--data-dir", str(tmp_path / "var")])
    table = capsys.readouterr().out
    assert "3.1.10.3(5)  违反国家民族和宗教政策的信息\n    detectors:  NONE" in table
