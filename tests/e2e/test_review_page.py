"""The moderators' page in a real headless Chromium (Debian's `chromium`, driven by
Playwright) against `vodgate serve`: sign in, the queue, evidence blurred until hovered, a
thumbnail seeks the player to its flagged time, a keyboard decision, the queue shrinks, the
decision log. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Locator, Page, expect, sync_playwright

from gateway.client import UploadClient
from gateway.runtime.settings import PROJECT_ROOT
from tests.e2e.conftest import Gateway, free_port, provision_tenant, vodgate
from tests.media import colour_clip
from tests.models import DARK, PINK, TEST_POLICY
from tests.pipeline_helpers import META
from tests.text_media import srt_file, text_clip

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture
def review_gateway(tmp_path: Path, setup_dirs: tuple[Path, Path]) -> Iterator[Gateway]:
    models, shared_policies = setup_dirs
    # The test policy plus one keyword list read in subtitles (review only).
    policies = tmp_path / "policies"
    shutil.copytree(shared_policies, policies)
    (policies / "keywords").mkdir()
    (policies / "keywords" / "watch.txt").write_text("法轮功\n", encoding="utf-8")
    policy = json.loads(json.dumps(TEST_POLICY))
    policy["items"][0]["detectors"].append(
        {"label": "subtitles:watch", "review_at": 0.5, "block_at": None}
    )
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True))
    data_dir = tmp_path / "var"
    created = provision_tenant(data_dir, "reviewed-media")
    gateway = Gateway(
        data_dir, free_port(), created["tenant_id"], created["api_key"], tmp_path / "gw.log"
    )
    gateway.env = {
        "VODGATE_SCREENING_WORKERS": "1",
        "VODGATE_DELIVERY_WORKERS": "0",
        "VODGATE_MODELS_DIR": str(models),
        "VODGATE_POLICIES_DIR": str(policies),
    }
    gateway.start()
    yield gateway
    gateway.stop()
    log = gateway.log.read_text()
    assert "Traceback" not in log, log


def queued_for_review(gateway: Gateway, tmp_path: Path, count: int) -> list[str]:
    client = UploadClient(gateway.url, gateway.api_key)
    ids = []
    for n in range(count):
        clip = colour_clip(tmp_path / f"pink{n}.mp4", 20, base=DARK, segments=((6, 8, PINK),))
        ids.append(asyncio.run(client.upload(clip, META)))
    deadline = time.monotonic() + 60
    while any(gateway.status(i)["state"] != "review" for i in ids):
        assert time.monotonic() < deadline, [gateway.status(i)["state"] for i in ids]
        time.sleep(0.2)
    return ids


def test_a_moderator_works_the_queue_with_the_keyboard(
    review_gateway: Gateway, tmp_path: Path
) -> None:
    queued_for_review(review_gateway, tmp_path, 2)  # before Playwright owns an event loop
    reviewer = json.loads(
        vodgate("tenant", "create", "moderators", "--role", "reviewer",
                data_dir=review_gateway.data_dir)
    )  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            work_the_queue(page, review_gateway.url, reviewer["api_key"])
        finally:
            browser.close()


def work_the_queue(page: Page, url: str, api_key: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{url}/review")
    page.fill("#key", api_key)
    page.click("#signin button")
    expect(page.locator("#queue li")).to_have_count(2)
    expect(page.locator("#counts")).to_contain_text("2 open")
    expect(page.locator("#item")).to_be_visible()  # the first item, claimed
    expect(page.locator("#sla")).to_contain_text("due in")

    figures = page.locator("#evidence figure")
    expect(figures.first).to_be_visible()
    image = figures.first.locator("img")
    until(page, image, "e => e.naturalWidth > 0")
    assert "blur" in image.evaluate("e => getComputedStyle(e).filter")  # wellness: blurred
    figures.first.hover()
    until(page, image, "e => getComputedStyle(e).filter === 'none'")
    flagged = float(figures.first.get_attribute("data-t") or "nan")
    assert 6 <= flagged <= 14
    figures.first.click()  # the player jumps to the flagged frame (Range requests)
    until(page, page.locator("#player"), f"e => Math.abs(e.currentTime - {flagged}) < 1.0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-page.png"))

    page.fill("#reason", "a pink wall, nothing prohibited")
    page.locator("#item-title").click()  # leave the text box: shortcuts apply again
    page.keyboard.press("a")
    expect(page.locator("#message")).to_contain_text("approve → approved")
    expect(page.locator("#counts")).to_contain_text("1 open")
    expect(page.locator("#queue li")).to_have_count(1)

    page.click("#tab-log")
    expect(page.locator("#log tr")).to_have_count(1)
    expect(page.locator("#log tr").first).to_contain_text("approve")
    assert errors == []


def test_text_hits_are_marked_and_seek_the_player(review_gateway: Gateway, tmp_path: Path) -> None:
    cues = srt_file(tmp_path / "cues.srt", [(1.0, 2.0, "大家好"), (7.0, 9.0, "这是法轮功的视频")])
    clip = text_clip(tmp_path / "subs.mp4", 12, [], size="320x240", subtitles=cues)
    upload_id = asyncio.run(
        UploadClient(review_gateway.url, review_gateway.api_key).upload(clip, META)
    )
    deadline = time.monotonic() + 60
    while review_gateway.status(upload_id)["state"] != "review":
        assert time.monotonic() < deadline, review_gateway.status(upload_id)
        time.sleep(0.2)
    reviewer = json.loads(
        vodgate("tenant", "create", "moderators", "--role", "reviewer",
                data_dir=review_gateway.data_dir)
    )  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{review_gateway.url}/review")
            page.fill("#key", reviewer["api_key"])
            page.click("#signin button")
            hits = page.locator("#text-hits li")
            expect(hits).to_have_count(1)
            expect(hits.first.locator("mark")).to_have_text("法轮功")
            expect(hits.first).to_contain_text("这是法轮功的视频")
            expect(hits.first).to_contain_text("7.0–9.0 s · subtitles · subtitles:watch")
            hits.first.click()
            until(page, page.locator("#player"), "e => Math.abs(e.currentTime - 7.0) < 1.0")
            page.screenshot(path=str(ARTIFACTS / "review-page-text-hits.png"))
            assert errors == []
        finally:
            browser.close()


def until(page: Page, locator: Locator, predicate: str, timeout_s: float = 10.0) -> None:
    """Poll `predicate` on the element from the test side. Playwright's wait_for_function
    evaluates strings with eval inside the page, which the page's CSP (rightly) forbids."""
    deadline = time.monotonic() + timeout_s
    while not locator.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        page.wait_for_timeout(100)
