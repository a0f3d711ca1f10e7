"""Manifest-driven ONNX classifiers on real onnxruntime: a generated model and open_nsfw."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import yaml

from gateway.adapters.detectors.manifest import load_manifest
from gateway.adapters.detectors.onnx_classifier import OnnxClassifier
from gateway.domain.errors import ConfigError
from gateway.runtime.settings import PROJECT_ROOT
from tests.models import build_colour_model, redness_score


def frames_of(*colours: tuple[int, int, int], size: int = 256) -> np.ndarray:
    return np.stack([np.full((size, size, 3), c, dtype=np.uint8) for c in colours])


async def test_generated_model_scores_follow_colour(tmp_path: Path) -> None:
    folder = await asyncio.to_thread(build_colour_model, tmp_path)
    manifest, model_file = await asyncio.to_thread(load_manifest, folder)
    classifier = await asyncio.to_thread(OnnxClassifier, manifest, model_file)
    classifier.warm_up(256)
    colours = [(255, 0, 0), (176, 80, 80), (64, 96, 128)]
    signals = await classifier.classify(frames_of(*colours), [0.0, 2.0, 4.0])
    assert [s.label for s in signals] == ["colour_test:red"] * 3
    assert [s.timestamp_s for s in signals] == [0.0, 2.0, 4.0]
    for signal, colour in zip(signals, colours, strict=True):
        assert signal.score == pytest.approx(redness_score(colour), abs=1e-4)
    assert signals[0].detector == "colour_test@1"
    classifier.close()


def test_a_tampered_model_or_wrong_io_stops_start_up(tmp_path: Path) -> None:
    path = build_colour_model(tmp_path)
    model = path.parent / "model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(ConfigError, match="sha256"):
        load_manifest(path)

    path = build_colour_model(tmp_path, "second")
    data = yaml.safe_load(path.read_text())
    for field, value, message in [
        ("input", {**data["input"], "name": "nope"}, "no input"),
        ("input", {**data["input"], "height": 32}, "input shape"),
        ("output", {"name": "scores", "labels": ["red", "blue"]}, "labels"),
    ]:
        path.write_text(yaml.safe_dump({**data, field: value}))
        manifest, model_file = load_manifest(path)
        with pytest.raises(ConfigError, match=message):
            OnnxClassifier(manifest, model_file)
    path.write_text(
        yaml.safe_dump({**data, "source": {"package": "no_such_package", "resource": "x.onnx"}})
    )
    with pytest.raises(ConfigError, match="not installed"):
        load_manifest(path)


async def test_open_nsfw_from_its_wheel_scores_benign_images_low() -> None:
    from PIL import Image
    from skimage import data

    manifest_path = PROJECT_ROOT / "models" / "open_nsfw" / "manifest.yaml"
    manifest, model_file = await asyncio.to_thread(load_manifest, manifest_path)
    classifier = await asyncio.to_thread(OnnxClassifier, manifest, model_file)
    images = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    frames = np.stack(
        [
            np.asarray(Image.fromarray(img).convert("RGB").resize((256, 256), Image.BILINEAR))
            for img in images
        ]
    )
    signals = await classifier.classify(frames, [float(i) for i in range(len(images))])
    nsfw = [s.score for s in signals if s.label == "open_nsfw:nsfw"]
    assert len(nsfw) == 4
    assert max(nsfw) < 0.6  # below the policy's review threshold for item (3)
    sfw = [s.score for s in signals if s.label == "open_nsfw:sfw"]
    assert all(a + b == pytest.approx(1, abs=1e-3) for a, b in zip(sfw, nsfw, strict=True))
    classifier.close()
