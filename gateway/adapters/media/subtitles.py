"""FfmpegSubtitleReader: a text subtitle track (mov_text, subrip, ass/ssa, webvtt) converted to
ASS by ffmpeg under the probe's hardening (the file protocol only, allow-listed demuxers and
codecs, resource limits), its events read into cues with tags and drawings removed
(ass_events). Bitmap subtitles (DVD, PGS, DVB) carry no text to read here."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from gateway.adapters.media.ass_events import parse_ass
from gateway.adapters.media.formats import SUBTITLE_DECODERS, SUBTITLE_ENCODER
from gateway.adapters.media.limits import MediaLimits, hardened_ffmpeg
from gateway.domain.media import SubtitleStream, SubtitleTrack

# A track's text past this is not subtitles (100,000 cues are ~10 MB of ASS): the rest is not
# read, and the track says so.
MAX_TRACK_BYTES = 16 * 1024 * 1024
# Events with text read per track (a feature film has ~2,000; karaoke effects ~50,000).
MAX_CUES = 100_000
TRACK_TIMEOUT_S = 120.0


class FfmpegSubtitleReader:
    def __init__(self, limits: MediaLimits | None = None, ffmpeg: str = "ffmpeg") -> None:
        self.limits = limits or MediaLimits()
        self._ffmpeg = ffmpeg

    async def read(self, path: Path, stream: SubtitleStream, duration_s: float) -> SubtitleTrack:
        """One track's cues; raises when ffmpeg could not convert it."""
        decoders = SUBTITLE_DECODERS.get(stream.codec)
        if decoders is None:
            raise SubtitleUnreadable(f"stream {stream.index}: {stream.codec} is not read")
        command = await asyncio.to_thread(  # resolving the path reads the disk
            functools.partial(
                hardened_ffmpeg,
                self.limits,
                int(30 + duration_s / 10),
                path,
                ffmpeg=self._ffmpeg,
                # The encoder is named too: ffmpeg checks encoders against the list.
                decoders=(*decoders, SUBTITLE_ENCODER),
                # The file's own times: without it ffmpeg shifts a Matroska track's cues
                # back by its first cue's start.
                input_options=["-copyts"],
            )
        )
        # -ignore_readorder: the ass muxer otherwise sorts every event into a list as it
        # arrives (quadratic: 100,000 events outlast the CPU limit); each cue stands alone.
        argv = [*command, "-map", f"0:{stream.index}", "-c:s", SUBTITLE_ENCODER, "-f", "ass",
                "-ignore_readorder", "1", "pipe:1"]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        if process.stdout is None or process.stderr is None:
            raise RuntimeError("ffmpeg pipes were not created")
        errors_read = asyncio.ensure_future(_read_up_to(process.stderr, 64 * 1024, keep_tail=True))
        try:
            async with asyncio.timeout(TRACK_TIMEOUT_S):
                data = await _read_up_to(process.stdout, MAX_TRACK_BYTES)
                # At the cap ffmpeg is still writing: stopped here (its stderr then ends),
                # the text read so far kept.
                capped = len(data) >= MAX_TRACK_BYTES
                if capped:
                    process.kill()
                errors = await errors_read
                code = 0 if capped else await process.wait()
        finally:
            errors_read.cancel()
            if process.returncode is None:
                process.kill()
                await process.wait()
        if code != 0:
            # A track the screening cannot read is the detector's failure: never a pass.
            tail = errors.decode(errors="replace")[-300:]
            raise SubtitleUnreadable(f"stream {stream.index}: ffmpeg exited with {code}: {tail}")
        if capped:  # the last line may be cut mid-event
            data = data[: data.rfind(b"\n") + 1]
        events = await asyncio.to_thread(
            parse_ass, data.decode("utf-8", errors="replace"), max_cues=MAX_CUES
        )
        notes = [f"stopped after {MAX_TRACK_BYTES // 2**20} MiB of text"] if capped else []
        notes += [events.capped] if events.capped else []
        return SubtitleTrack(events.cues, "; ".join(notes))


class SubtitleUnreadable(Exception):
    """ffmpeg could not convert a text track (the screener applies on_error)."""


async def _read_up_to(
    stream: asyncio.StreamReader, limit: int, *, keep_tail: bool = False
) -> bytes:
    """Everything up to `limit` bytes, or to the end; with keep_tail the stream is read to
    its end and its last `limit` bytes kept (a child's stderr must never block it)."""
    data = bytearray()
    while chunk := await stream.read(64 * 1024):
        data += chunk
        if len(data) >= limit:
            if not keep_tail:
                return bytes(data[:limit])
            del data[:-limit]
    return bytes(data)
