"""FfmpegFrameSampler: frames from one linear decode, piped as raw RGB into numpy (no temp
files): one at least every `interval_s` plus scene cuts, and dense windows on request."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from gateway.adapters.media.filters import DEINTERLACE, to_sdr
from gateway.adapters.media.formats import VIDEO_DECODERS
from gateway.adapters.media.limits import MediaLimits, hardened_ffmpeg
from gateway.adapters.media.selection import ImageMarker, main_select
from gateway.domain.errors import MediaRefused, MediaUnsupported
from gateway.domain.media import (
    DENSE,
    INTERVAL,
    TEXT_DENSE,
    SampledFrame,
    SamplingPlan,
    VideoStream,
)

logger = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]  # [height, width, 3] RGB
_PTS_TIME = re.compile(rb"pts_time:\s*([0-9.eE+-]+)")
_SCENE = re.compile(rb"lavfi\.scene_score=([0-9.eE+-]+)")
# Stream numbers of dense windows (time segments are numbered from 0).
DENSE_STREAMS = 1_000_000
# Threads for one decode: more than the cores never helped (reference measurements).
DECODE_THREADS = 2
# With B-frames skipped, one H.264 decode keeps one core busy whatever its thread count,
# so a long video is split into this many time segments decoded at once (one per core).
PARALLEL_SEGMENTS = max(1, min(4, os.cpu_count() or 1))
# Shorter videos are decoded in one piece: a second process would cost more than it saves.
MIN_SEGMENT_S = 20.0
# Frames waiting between the decoders and the detectors (~200 KB each at 256x256, ~1.7 MB
# with a 960x540 text frame).
MERGE_QUEUE_FRAMES = 32


class FfmpegFrameSampler:
    def __init__(
        self,
        limits: MediaLimits | None = None,
        ffmpeg: str = "ffmpeg",
        decode_threads: int = DECODE_THREADS,
    ) -> None:
        self.limits = limits or MediaLimits()
        self._ffmpeg = ffmpeg
        self._decode_threads = decode_threads

    def argv(
        self,
        path: Path,
        video_filter: str,
        *,
        video: VideoStream,
        start_s: float | None = None,
        duration_s: float | None = None,
        cpu_s: int,
    ) -> list[str]:
        return decode_argv(
            path, video_filter, video=video, start_s=start_s, duration_s=duration_s,
            cpu_s=cpu_s, limits=self.limits, ffmpeg=self._ffmpeg,
            decode_threads=self._decode_threads,
        )  # fmt: skip

    async def sample(
        self, path: Path, plan: SamplingPlan, *, video: VideoStream, duration_s: float
    ) -> AsyncIterator[SampledFrame]:
        """Frames at least every `plan.step_s`, plus scene cuts. With a text step shorter
        than the interval, frames between interval samples are marked TEXT (for the text
        readers only). A long video is decoded as several time segments at once, so frames
        arrive in time order per segment (stream) only. Each segment starts with a sample,
        so the maximum gap holds across boundaries."""
        video_filter = f"{main_select(plan, video)},{_scale(plan, video)}"
        segments = split_segments(duration_s, plan.parallel_segments or PARALLEL_SEGMENTS)
        if len(segments) == 1:
            frames = self._run(path, video_filter, plan, video, INTERVAL, None, None, duration_s)
        else:
            frames = self._merged(path, video_filter, plan, video, segments, duration_s)
        count = 0
        async with contextlib.aclosing(frames):
            async for frame in frames:
                count += 1
                yield frame
        if count == 0:  # headers that promise a video no decoder can produce a frame of
            raise MediaRefused("no frame of the video could be decoded")

    async def _merged(
        self,
        path: Path,
        video_filter: str,
        plan: SamplingPlan,
        video: VideoStream,
        segments: list[tuple[float, float | None]],
        duration_s: float,
    ) -> AsyncGenerator[SampledFrame, None]:
        """The segments decoded at once, their frames merged as they come."""
        merged: asyncio.Queue[SampledFrame | None] = asyncio.Queue(MERGE_QUEUE_FRAMES)

        async def pump(stream: int, start: float, length: float | None) -> None:
            try:
                async for frame in self._run(
                    path,
                    video_filter,
                    plan,
                    video,
                    INTERVAL,
                    start,
                    length,
                    length or duration_s - start,
                    stream,
                ):
                    await merged.put(frame)
            finally:
                await merged.put(None)

        tasks = [
            asyncio.create_task(pump(stream, start, length))
            for stream, (start, length) in enumerate(segments)
        ]
        try:
            running = len(tasks)
            while running:
                item = await merged.get()
                if item is None:
                    running -= 1
                else:
                    yield item
            await asyncio.gather(*tasks)  # a segment's failure is the sampling's failure
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def sample_dense(
        self,
        path: Path,
        plan: SamplingPlan,
        around_s: float,
        *,
        video: VideoStream,
        for_text: bool = False,
    ) -> AsyncIterator[SampledFrame]:
        """`plan.dense_fps` frames a second within `plan.dense_window_s` of `around_s`,
        marked DENSE (for the image models) or, `for_text`, TEXT_DENSE (the text readers)."""
        start = max(0.0, around_s - plan.dense_window_s)
        length = 2 * plan.dense_window_s
        step = 1.0 / plan.dense_fps
        video_filter = (
            f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{step:.4f})',"
            f"{_scale(plan, video)}"
        )
        reason = TEXT_DENSE if for_text else DENSE
        stream = DENSE_STREAMS + round(around_s * 1000)  # one stream per window
        async for frame in self._run(
            path, video_filter, plan, video, reason, start, length, length, stream
        ):
            yield frame

    async def _run(
        self,
        path: Path,
        video_filter: str,
        plan: SamplingPlan,
        video: VideoStream,
        reason: str,
        start_s: float | None,
        length_s: float | None,
        media_s: float,
        stream: int = 0,
    ) -> AsyncGenerator[SampledFrame, None]:
        # CPU budget: decoding runs well above real time; 2 s of CPU per media second plus
        # a minute is far beyond honest work and stops a decoder caught in a loop.
        cpu_s = int(60 + 2 * media_s)
        argv = await asyncio.to_thread(  # resolving the path reads the disk
            functools.partial(
                self.argv, path, video_filter, video=video, start_s=start_s,
                duration_s=length_s, cpu_s=cpu_s,
            )
        )  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1024 * 1024,
        )
        if process.stdout is None or process.stderr is None:
            raise RuntimeError("ffmpeg pipes were not created")
        timestamps: asyncio.Queue[tuple[float, float] | None] = asyncio.Queue()
        stderr_tail: list[bytes] = []
        reader = asyncio.ensure_future(_read_showinfo(process.stderr, timestamps, stderr_tail))
        width, height = output_size(plan, video)
        frame_bytes = width * height * 3
        yielded = 0
        marker = ImageMarker(plan) if reason == INTERVAL else None
        try:
            while True:
                try:
                    data = await process.stdout.readexactly(frame_bytes)
                except asyncio.IncompleteReadError:
                    break
                shown = await timestamps.get()
                if shown is None:
                    raise SamplingFailed("ffmpeg gave a frame without its timestamp")
                timestamp, scene = shown
                why = reason if marker is None else marker.reason(timestamp, scene)
                pixels = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
                yielded += 1
                if plan.text_side:
                    square = await asyncio.to_thread(_model_square, pixels, plan.frame_size)
                    yield SampledFrame(round(timestamp, 3), why, square, pixels, stream)
                else:
                    yield SampledFrame(round(timestamp, 3), why, pixels, stream=stream)
            code = await asyncio.wait_for(process.wait(), 30)
            await reader
            if code != 0:
                tail = b"".join(stderr_tail).decode(errors="replace")[-300:]
                raise decode_failure(code, tail, video.codec, frames_seen=yielded)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def decode_argv(
    path: Path,
    video_filter: str,
    *,
    video: VideoStream,
    start_s: float | None,
    duration_s: float | None,
    cpu_s: int,
    limits: MediaLimits,
    ffmpeg: str,
    decode_threads: int,
) -> list[str]:
    """The hardened ffmpeg command that decodes one stretch of the video through
    `video_filter` into raw RGB frames on stdout, each frame's time on stderr."""
    # -copyts keeps the file's own timestamps after a seek: evidence times stay exact.
    seek = [] if start_s is None else ["-ss", f"{max(0.0, start_s):.3f}", "-copyts"]
    length = [] if duration_s is None else ["-t", f"{duration_s:.3f}"]
    # Skipping B-frames and the loop filter speeds H.264 up (~2.3x on x264 output) and
    # keeps the interval guarantee; on HEVC it causes reference errors, so H.264 only.
    fast = ["-skip_frame", "bidir", "-skip_loop_filter", "all"] if video.codec == "h264" else []
    # The decoder is named, not left to ffmpeg: AV1 must be dav1d, and a codec without an
    # accepted decoder never reaches here (the probe refused it).
    decoder = VIDEO_DECODERS[video.codec].name
    # Deinterlacing needs neighbouring frames (before sampling picks); tone mapping is
    # costly per frame (after sampling and scaling, on the few frames kept).
    before = [DEINTERLACE] if video.interlaced else []
    after = [to_sdr(video.color_transfer)] if video.hdr else []
    return [
        *hardened_ffmpeg(
            limits,
            cpu_s,
            path,
            ffmpeg=ffmpeg,
            loglevel="info",  # showinfo reports each output frame's timestamp at this level
            decoders=(decoder,),
            input_options=[
                "-c:v",
                decoder,
                "-threads",
                str(decode_threads),
                *fast,
                *seek,
                *length,
            ],
        ),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        ",".join([*before, video_filter, *after, "showinfo"]),
        "-fps_mode",
        "passthrough",
        "-pix_fmt",
        "rgb24",
        "-f",
        "rawvideo",
        "pipe:1",
    ]


def output_size(plan: SamplingPlan, video: VideoStream) -> tuple[int, int]:
    """What ffmpeg writes per frame: the models' square, or with text detectors on, the
    upright frame at its own aspect with its long side at most `plan.text_side` (never
    enlarged), in even numbers."""
    if not plan.text_side:
        return plan.frame_size, plan.frame_size
    width, height = video.width, video.height
    if video.rotation in (90, 270):
        width, height = height, width
    scale = min(1.0, plan.text_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _scale(plan: SamplingPlan, video: VideoStream) -> str:
    width, height = output_size(plan, video)
    return f"scale={width}:{height}"


def _model_square(pixels: Frame, size: int) -> Frame:
    """The models' square input from the text frame (area averaging, as ffmpeg's scale)."""
    return np.ascontiguousarray(cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA))


def split_segments(duration_s: float, parallel: int) -> list[tuple[float, float | None]]:
    """(start, length) of each segment; the last runs to the end (length None)."""
    count = max(1, min(parallel, int(duration_s // MIN_SEGMENT_S)))
    step = duration_s / count
    return [(i * step, step if i < count - 1 else None) for i in range(count)]


class SamplingFailed(Exception):
    """ffmpeg stopped for a reason that may pass (killed, out of CPU time): retried."""


# What ffmpeg says when the file, not the machine, is at fault.
_UNDECODABLE = (
    "Error while opening decoder",
    "Decoder (codec",
    "Invalid data found when processing input",
    "could not find codec parameters",
)


def decode_failure(code: int, stderr: str, codec: str, *, frames_seen: int) -> Exception:
    """A refusal when ffmpeg itself gave up on the file (it exited with an error, naming a
    decoder or data error, or before a single frame): the upload fails with a media code and
    is never sent to a human as a screening failure. A child killed by a signal (its CPU or
    memory limit, a shutdown: a negative code) may pass: retried, then on_error."""
    if code > 0 and "decoder" in stderr.lower() and any(m in stderr for m in _UNDECODABLE):
        return MediaUnsupported(f"the {codec} video could not be decoded")
    if code > 0 and (frames_seen == 0 or any(m in stderr for m in _UNDECODABLE)):
        return MediaRefused("the video stream could not be decoded")
    return SamplingFailed(f"ffmpeg exited with {code}: {stderr}")


async def _read_showinfo(
    stream: asyncio.StreamReader,
    timestamps: asyncio.Queue[tuple[float, float] | None],
    tail: list[bytes],
) -> None:
    """Each output frame's (timestamp, scene score): the metadata filter prints the score
    before showinfo prints the same frame's timestamp."""
    scene = 0.0
    while line := await stream.readline():
        match = _PTS_TIME.search(line)
        cut = _SCENE.search(line)
        if cut:
            scene = float(cut.group(1))
        elif match and b"Parsed_showinfo" in line:
            timestamps.put_nowait((float(match.group(1)), scene))
            scene = 0.0
        elif b"Parsed_metadata" in line:
            continue
        elif line.strip():
            tail.append(line)
            del tail[:-20]
    timestamps.put_nowait(None)  # end of stream: a frame without a timestamp is an error
