"""Screening end to end on real ffmpeg and onnxruntime, with the generated colour model:
every verdict path, and dense re-sampling catching a 1 s flash between samples."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.adapters.media.sampler import split_segments
from gateway.domain.media import SampledFrame, SamplingPlan
from gateway.domain.policy import Signal, Verdict
from gateway.domain.ports.detection import ScreeningSubject
from gateway.runtime.screening_wiring import build_screener
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services
from gateway.services.screener import Screener, decision_record
from tests.conftest import LICENCE_NUMBER, Tenant
from tests.e2e.conftest import provision_tenant, vodgate
from tests.media import colour_clip
from tests.models import DARK, PINK, RED, TEST_POLICY, build_colour_model  # noqa: F401


@pytest.fixture(scope="module")
def screener(setup_dirs: tuple[Path, Path]) -> Screener:
    models, policies = setup_dirs
    return build_screener(Settings(models_dir=models, policies_dir=policies))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {
        "plain": colour_clip(root / "plain.mp4", 60, base=DARK),
        "red_at_37": colour_clip(root / "red.mp4", 60, base=DARK, segments=((37, 8, RED),)),
        "pink_at_37": colour_clip(root / "pink.mp4", 60, base=DARK, segments=((37, 8, PINK),)),
        "flash": colour_clip(root / "flash.mp4", 60, base=DARK, segments=((36.5, 1, RED),)),
    }


async def test_segmented_decode_keeps_the_maximum_gap(
    screener: Screener, clips: dict[str, Path]
) -> None:
    """A long video is decoded as parallel segments; together they sample the same span,
    with no gap over the interval (plus one P-frame step) at the boundaries."""
    sampler = screener.sampler
    video = (await screener.prober.probe(clips["red_at_37"])).video

    async def times(parallel: int) -> list[float]:
        plan = SamplingPlan(parallel_segments=parallel)
        frames = sampler.sample(clips["red_at_37"], plan, video=video, duration_s=60.0)
        return sorted([f.timestamp_s async for f in frames])

    assert split_segments(60.0, 3) == [(0.0, 20.0), (20.0, 20.0), (40.0, None)]
    assert split_segments(15.0, 3) == [(0.0, None)]
    one, three = await times(1), await times(3)
    for sampled in (one, three):
        assert sampled[0] == 0.0
        assert sampled[-1] >= 57.5
        assert max(b - a for a, b in itertools.pairwise(sampled)) <= 2.2
    assert {20.0, 40.0} <= set(three)  # each segment opens with a sample
    assert len(three) <= len(one) + 3


async def test_plain_clip_passes(screener: Screener, clips: dict[str, Path]) -> None:
    result = await screener.screen(clips["plain"])
    assert result.decision.verdict == Verdict.PASS
    assert result.frames_sampled >= 30  # every 2 s over 60 s
    assert result.evidence == []


async def test_red_segment_blocks_with_evidence(screener: Screener, clips: dict[str, Path]) -> None:
    result = await screener.screen(clips["red_at_37"])
    assert result.decision.verdict == Verdict.BLOCK
    body = decision_record(result).to_json()
    assert body["clauses"] == ["3.1.10.3(3)"]
    hit = body["hits"][0]
    assert hit["text_zh"].startswith("封建迷信")
    assert hit["threshold"] == 0.92
    times = [f["timestamp_s"] for f in hit["frames"]]
    assert all(37 <= t <= 45 for t in times)
    assert all(f["detector"] == "colour_test@1" for f in hit["frames"])
    assert body["policy"] == {"id": "test-policy", "version": 3}
    assert result.evidence
    assert result.evidence[0].jpeg.startswith(b"\xff\xd8")
    assert 37 <= result.evidence[0].timestamp_s <= 45


async def test_moderate_segment_goes_to_review(screener: Screener, clips: dict[str, Path]) -> None:
    result = await screener.screen(clips["pink_at_37"])
    assert result.decision.verdict == Verdict.REVIEW
    assert result.decision.hits[0].threshold == 0.6


async def test_dense_resampling_catches_a_one_second_flash(
    screener: Screener, clips: dict[str, Path]
) -> None:
    fixed_only = Screener(
        screener.prober,
        screener.sampler,
        screener.detectors,
        screener.policy,
        SamplingPlan(dense=False),
    )
    missed = await fixed_only.screen(clips["flash"])
    assert missed.decision.verdict == Verdict.PASS  # one red frame: below min_frames
    caught = await screener.screen(clips["flash"])
    assert caught.decision.verdict == Verdict.BLOCK
    assert caught.sampling.dense.around_s == (36.5,)
    dense_times = [s.timestamp_s for s in caught.decision.hits[0].frames]
    assert all(36.5 <= t <= 37.5 for t in dense_times)
    assert len(dense_times) >= 2


def scan(
    setup_dirs: tuple[Path, Path], clip: Path, *args: str, data_dir: Path | None = None
) -> tuple[int, dict[str, Any]]:
    models, policies = setup_dirs
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "--log-level",
            "WARNING",
            "scan",
            str(clip),
            "--models-dir",
            str(models),
            "--policies-dir",
            str(policies),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "VODGATE_DATA_DIR": str(data_dir or setup_dirs[0].parent / "var")},
    )
    body = json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}
    return done.returncode, body


LICENCE_META = ("--meta", "licence_type=avsp", "--meta", f"licence_number={LICENCE_NUMBER}")


def test_scan_command_exit_codes(
    setup_dirs: tuple[Path, Path], clips: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "random.mp4").write_bytes(b"\x00\x01" * 5000)
    expected = {"plain": (0, "pass"), "pink_at_37": (1, "review"), "red_at_37": (2, "block")}
    cases = [(clips[name], *codes) for name, codes in expected.items()]
    cases.append((tmp_path / "random.mp4", 3, "error"))
    for clip, code, verdict in cases:
        exit_code, body = scan(setup_dirs, clip, *LICENCE_META, "--meta", "title=t")
        assert (exit_code, body["verdict"]) == (code, verdict), body
    assert body["error"]["code"] == "media_invalid"


def test_scan_checks_the_licence(
    setup_dirs: tuple[Path, Path], clips: dict[str, Path], tmp_path: Path
) -> None:
    clip = clips["plain"]
    code, body = scan(setup_dirs, clip, "--meta", "title=no licence")
    assert code == 2
    assert body["error"] == {
        "code": "licence_missing",
        "clause": "3.1.10.1",
        "message": "Upload-Metadata must declare licence_type and licence_number",
    }
    code, body = scan(
        setup_dirs,
        clip,
        *LICENCE_META,
        "--meta",
        "rights_holder=X",
        "--meta",
        "rights_expires=2001-01-01",
    )
    assert (code, body["error"]["code"]) == (2, "rights_expired")
    code, body = scan(setup_dirs, clip, *LICENCE_META)
    assert (code, body["licence"]["checked"]) == (0, "declaration")
    # Usage errors exit 3, never 2 (which means block).
    assert scan(setup_dirs, clip, "--meta", "no-equals-sign")[0] == 3
    assert scan(setup_dirs, tmp_path / "missing.mp4", *LICENCE_META)[0] == 3

    # --tenant: the registry in the configured database decides, as the worker does.
    data_dir = tmp_path / "var"
    tenant = provision_tenant(data_dir, "scanner")
    code, body = scan(
        setup_dirs, clip, *LICENCE_META, "--tenant", tenant["tenant_id"], data_dir=data_dir
    )
    assert code == 0, body
    assert body["licence"]["checked"] == "registry"
    vodgate(
        "licence",
        "add",
        "--tenant",
        tenant["tenant_id"],
        "--type",
        "avsp",
        "--number",
        "LAPSED-1",
        "--holder",
        "scanner",
        "--valid-from",
        "2019-01-01",
        "--valid-until",
        "2020-01-01",
        data_dir=data_dir,
    )
    code, body = scan(
        setup_dirs,
        clip,
        "--meta",
        "licence_type=avsp",
        "--meta",
        "licence_number=LAPSED-1",
        "--tenant",
        tenant["tenant_id"],
        data_dir=data_dir,
    )
    assert (code, body["verdict"], body["error"]["code"]) == (2, "block", "licence_expired")
    code, body = scan(setup_dirs, clip, *LICENCE_META, "--tenant", "t_nobody", data_dir=data_dir)
    assert (code, body["error"]["code"]) == (3, "tenant_not_found")


def test_a_policy_label_without_a_model_stops_start_up(
    setup_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    from gateway.domain.errors import ConfigError

    models, _ = setup_dirs
    policy = json.loads(json.dumps(TEST_POLICY))
    policy["items"][0]["detectors"][0]["label"] = "colour_test:blue"
    (tmp_path / "prohibited-content.yaml").write_text(yaml.safe_dump(policy))
    with pytest.raises(ConfigError, match="colour_test:blue"):
        build_screener(Settings(models_dir=models, policies_dir=tmp_path))


class BrokenDetector:
    """Failure injection: the Detector port, but detection fails (at `fail_in`)."""

    name = "broken@0"

    def __init__(self, labels: list[str], fail_in: str = "detect") -> None:
        self.labels = labels
        self.fail_in = fail_in

    def _maybe_fail(self, where: str) -> None:
        if where == self.fail_in:
            raise RuntimeError("onnxruntime: simulated failure at /models/secret/path")

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        return self.name

    async def begin(self, subject: ScreeningSubject) -> BrokenDetector:
        self._maybe_fail("begin")
        return self

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        self._maybe_fail("detect")
        return []

    async def finish(self) -> list[Signal]:
        self._maybe_fail("finish")
        return []


@pytest.mark.parametrize("fail_in", ["begin", "detect", "finish"])
async def test_a_failing_detector_falls_back_to_on_error_never_pass(
    screener: Screener, clips: dict[str, Path], fail_in: str
) -> None:
    broken = Screener(
        screener.prober,
        screener.sampler,
        [BrokenDetector(["colour_test:red"], fail_in)],
        screener.policy,
        screener.plan,
    )
    result = await broken.screen(clips["plain"])
    assert result.decision.verdict == Verdict.REVIEW  # the item's on_error, not a pass
    hit = result.decision.hits[0]
    assert hit.item_id == "3.1.10.3(3)"
    # The tenant sees which detector failed, never the exception's text (paths, internals).
    assert hit.reason == "detector failed: broken@0: detector_error"
    assert "simulated" not in decision_record(result).model_dump_json()


async def test_tenant_thresholds_are_stored_and_change_the_verdict(
    screener: Screener, clips: dict[str, Path], services: Services, tenant: Tenant
) -> None:
    now = services.clock.now()
    await services.thresholds.set(tenant.tenant_id, "colour_test:red", 0.3, 0.5, now)
    overrides = await services.thresholds.for_tenant(tenant.tenant_id)
    assert overrides == {"colour_test:red": {"review_at": 0.3, "block_at": 0.5}}
    strict = await screener.screen(clips["pink_at_37"], overrides)
    assert strict.decision.verdict == Verdict.BLOCK  # review for everyone else
    assert strict.sampling.tenant_thresholds == overrides


def test_thresholds_command_refuses_labels_the_policy_lacks(tmp_path: Path) -> None:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "--log-level",
            "WARNING",
            "tenant",
            "create",
            "t",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    tenant_id = json.loads(created.stdout)["tenant_id"]
    base = [
        sys.executable,
        "-m",
        "gateway",
        "--log-level",
        "WARNING",
        "tenant",
        "thresholds",
        tenant_id,
        "--data-dir",
        str(tmp_path),
    ]
    ok = subprocess.run(
        [*base, "--label", "open_nsfw:nsfw", "--review-at", "0.5", "--block-at", "0.8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*base, "--label", "nope:x", "--review-at", "0.5", "--block-at", "0.8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "no item uses" in bad.stderr
