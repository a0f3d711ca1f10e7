"""FfmpegSubtitleReader: a text subtitle track (mov_text, subrip, ass, webvtt) converted to SRT
by ffmpeg under the probe's hardening (the file protocol only, allow-listed demuxers and
codecs, resource limits), parsed into cues with markup removed. Bitmap subtitles (DVD, PGS)
carry no text to read here."""

from __future__ import annotations

import asyncio
import functools
import re
from pathlib import Path

import srt

from gateway.adapters.media.limits import MediaLimits, hardened_ffmpeg
from gateway.domain.media import SubtitleCue, SubtitleStream

# A track's text past this is not subtitles (100,000 cues are ~5 MB): the rest is not read.
MAX_TRACK_BYTES = 16 * 1024 * 1024
TRACK_TIMEOUT_S = 120.0
# Markup a converted cue may still carry: <i>, <font ...>, {\an8}.
_MARKUP = re.compile(r"<[^>]{0,200}>|\{\\[^}]{0,200}\}")


class FfmpegSubtitleReader:
    def __init__(self, limits: MediaLimits | None = None, ffmpeg: str = "ffmpeg") -> None:
        self.limits = limits or MediaLimits()
        self._ffmpeg = ffmpeg

    async def cues(
        self, path: Path, stream: SubtitleStream, duration_s: float
    ) -> list[SubtitleCue]:
        """One track's cues; raises when ffmpeg could not convert it."""
        command = await asyncio.to_thread(  # resolving the path reads the disk
            functools.partial(
                hardened_ffmpeg,
                self.limits,
                int(30 + duration_s / 10),
                path,
                ffmpeg=self._ffmpeg,
                # The SRT encoder is named too: ffmpeg checks encoders against the list.
                decoders=(stream.codec, "srt", "subrip"),
            )
        )
        argv = [*command, "-map", f"0:{stream.index}", "-c:s", "srt", "-f", "srt", "pipe:1"]
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        if process.stdout is None or process.stderr is None:
            raise RuntimeError("ffmpeg pipes were not created")
        try:
            data, errors = await asyncio.wait_for(
                asyncio.gather(
                    _read_up_to(process.stdout, MAX_TRACK_BYTES),
                    _read_up_to(process.stderr, 64 * 1024, keep_tail=True),
                ),
                TRACK_TIMEOUT_S,
            )
            # At the cap ffmpeg is still writing: stopped here, the text read so far kept.
            capped = len(data) >= MAX_TRACK_BYTES
            code = 0 if capped else await asyncio.wait_for(process.wait(), TRACK_TIMEOUT_S)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if code != 0:
            # A track the screening cannot read is the detector's failure: never a pass.
            tail = errors.decode(errors="replace")[-300:]
            raise SubtitleUnreadable(f"stream {stream.index}: ffmpeg exited with {code}: {tail}")
        return await asyncio.to_thread(parse_srt, data.decode("utf-8", errors="replace"))


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


def parse_srt(text: str) -> list[SubtitleCue]:
    """Blocking on a long track: the cues, markup removed; broken entries skipped."""
    return [
        SubtitleCue(
            cue.start.total_seconds(),
            cue.end.total_seconds(),
            _MARKUP.sub(" ", cue.content).strip(),
        )
        for cue in srt.parse(text, ignore_errors=True)
    ]
