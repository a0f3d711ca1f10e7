"""Hardening limits for ffprobe/ffmpeg children, each a named constant with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.adapters.media.formats import DEMUXERS

# Demuxers allowed to open an upload: the formats table (formats.py) says which and why.
ALLOWED_DEMUXERS = tuple(demuxer.name for demuxer in DEMUXERS)
# Only the staged file itself; no network protocol, no pipes to other processes.
ALLOWED_PROTOCOLS = "file"


@dataclass(frozen=True, slots=True)
class MediaLimits:
    # 4 hours: longer uploads are refused (media_too_long) rather than tying a worker up.
    max_duration_s: float = 4 * 3600.0
    # 4096x2160 (DCI 4K): larger frames are refused before decoding (decompression bombs).
    max_pixels: int = 4096 * 2160
    # Real videos carry a handful of streams; thousands are a parser attack.
    max_streams: int = 16
    # ffprobe reads headers only; 30 s of wall time means something is wrong.
    probe_timeout_s: float = 30.0
    # Address space for a child: enough for 4K decoding, not for a runaway allocation.
    child_address_space_bytes: int = 4 * 1024**3
    # CPU seconds for one ffprobe child.
    probe_cpu_s: int = 30


def prlimit_prefix(address_space: int, cpu_s: int) -> list[str]:
    """util-linux prlimit applies rlimits before exec (no preexec_fn in a threaded process)."""
    return ["prlimit", f"--as={address_space}", f"--cpu={cpu_s}", "--core=0", "--"]


def hardened_ffmpeg(
    limits: MediaLimits,
    cpu_s: int,
    source: Path,
    *,
    ffmpeg: str = "ffmpeg",
    loglevel: str = "error",
    decoders: Sequence[str] = (),
    demuxers: Sequence[str] = ALLOWED_DEMUXERS,
    input_options: Sequence[str] = (),
) -> list[str]:
    """An ffmpeg command up to and including its one input: resource limits, the file
    protocol only, allow-listed demuxers (and decoders, when it decodes), a pixel cap."""
    decoding = ["-codec_whitelist", ",".join(decoders)] if decoders else []
    return [
        *prlimit_prefix(limits.child_address_space_bytes, cpu_s),
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        loglevel,
        "-protocol_whitelist",
        ALLOWED_PROTOCOLS,
        "-format_whitelist",
        ",".join(demuxers),
        *decoding,
        "-max_pixels",
        str(limits.max_pixels),
        *input_options,
        "-i",
        # "file:" so a name can never be read as another protocol or an option.
        f"file:{source.resolve()}",
    ]


async def run_to_end(argv: Sequence[str], timeout_s: float) -> tuple[int, str]:
    """Run a child with no stdin or stdout; its exit code and the tail of its stderr. The
    child is killed when the time runs out (TimeoutError) or the caller is cancelled."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, stderr.decode(errors="replace")[-300:]
