"""OnnxClassifier: a manifest-driven image classifier run by onnxruntime in its own thread.

One session per model, warmed once at start-up with a dummy batch; inference runs batched in
a single-thread executor so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from gateway.adapters.detectors.manifest import ModelManifest
from gateway.domain.errors import ConfigError
from gateway.domain.media import SampledFrame
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject

Frames = npt.NDArray[np.uint8]  # [n, size, size, 3] RGB


class OnnxClassifier:
    def __init__(self, manifest: ModelManifest, model_file: Path, max_threads: int = 0) -> None:
        self.manifest = manifest
        options = ort.SessionOptions()
        # Threads set explicitly: two sessions each on defaults oversubscribe the cores.
        threads = manifest.threads if max_threads <= 0 else min(manifest.threads, max_threads)
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(model_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConfigError(f"{manifest.name}: cannot load {model_file}: {exc}") from exc
        self._check_io()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"onnx-{manifest.name}"
        )
        self.labels = manifest.label_names()
        self.name = f"{manifest.name}@{manifest.version}"

    def _check_io(self) -> None:
        m = self.manifest
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name: o for o in self._session.get_outputs()}
        if m.input.name not in inputs:
            raise ConfigError(f"{m.name}: model has no input {m.input.name!r}; has {list(inputs)}")
        if m.output.name not in outputs:
            raise ConfigError(
                f"{m.name}: model has no output {m.output.name!r}; has {list(outputs)}"
            )
        shape = list(inputs[m.input.name].shape)
        want = (
            [m.input.height, m.input.width, 3]
            if m.input.layout == "NHWC"
            else [3, m.input.height, m.input.width]
        )
        if len(shape) != 4 or [d if isinstance(d, int) else None for d in shape[1:]] != want:
            raise ConfigError(f"{m.name}: input shape {shape} is not [N, *{want}]")
        out_shape = list(outputs[m.output.name].shape)
        if len(out_shape) != 2 or out_shape[1] != len(m.output.labels):
            raise ConfigError(
                f"{m.name}: output shape {out_shape} does not fit {len(m.output.labels)} labels"
            )

    def warm_up(self, frame_size: int) -> None:
        self._infer(np.zeros((1, frame_size, frame_size, 3), dtype=np.uint8))

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        return f"{self.name}:{self.manifest.sha256[:16]}"

    async def begin(self, subject: ScreeningSubject) -> OnnxClassifier:
        """The Detector port: a classifier keeps nothing between frames, so it is its own
        pass."""
        return self

    async def finish(self) -> list[Signal]:
        return []

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        """One score per label per frame."""
        pixels = np.stack([frame.pixels for frame in frames])
        return await self.classify(pixels, [frame.timestamp_s for frame in frames])

    async def classify(self, frames: Frames, timestamps: list[float]) -> list[Signal]:
        loop = asyncio.get_running_loop()
        scores = await loop.run_in_executor(self._executor, self._infer, frames)
        return [
            Signal(self.name, label, timestamp, float(score))
            for row, timestamp in zip(scores, timestamps, strict=True)
            for label, score in zip(self.labels, row, strict=True)
        ]

    def _infer(self, frames: Frames) -> npt.NDArray[np.float32]:
        batch = self._prepare(frames)
        results = []
        for start in range(0, len(batch), self.manifest.batch_size):
            chunk = batch[start : start + self.manifest.batch_size]
            (out,) = self._session.run(
                [self.manifest.output.name], {self.manifest.input.name: chunk}
            )
            results.append(np.asarray(out, dtype=np.float32))
        return np.concatenate(results) if results else np.zeros((0, len(self.labels)), np.float32)

    def _prepare(self, frames: Frames) -> npt.NDArray[np.float32]:
        spec = self.manifest.input
        size = frames.shape[1]
        top, left = (size - spec.height) // 2, (size - spec.width) // 2
        if top < 0 or left < 0:
            raise ValueError(f"frames of {size}px are smaller than the model's input")
        crop = frames[:, top : top + spec.height, left : left + spec.width, :].astype(np.float32)
        if spec.colour_order == "BGR":
            crop = crop[..., ::-1]
        mean = np.asarray(spec.mean, np.float32)
        std = np.asarray(spec.std, np.float32)
        crop = ((crop * np.float32(spec.scale) - mean) / std).astype(np.float32)
        if spec.layout == "NCHW":
            crop = crop.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(crop, dtype=np.float32)

    def close(self) -> None:
        self._executor.shutdown(wait=False)
