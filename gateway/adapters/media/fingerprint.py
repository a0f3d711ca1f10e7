"""FpcalcFingerprinter: Chromaprint's raw fingerprint of a file's first audio track. The
audio is decoded by ffmpeg under the probe's hardening (file protocol, allow-listed demuxers,
resource limits) to 11,025 Hz mono PCM, piped into `fpcalc` (Debian `libchromaprint-tools`),
which never opens the upload itself."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
from pathlib import Path

from gateway.adapters.media.limits import MediaLimits, hardened_ffmpeg, prlimit_prefix

RATE = 11025
# Audio fingerprinted per file: a rights claim is about music, not hours of it.
MAX_AUDIO_S = 3600.0
TIMEOUT_S = 300.0


class AudioUnreadable(Exception):
    """ffmpeg or fpcalc failed on a track (the screener applies on_error)."""


class FpcalcFingerprinter:
    def __init__(self, limits: MediaLimits | None = None, fpcalc: str = "fpcalc") -> None:
        self.limits = limits or MediaLimits()
        self._fpcalc = fpcalc

    async def fingerprint(self, path: Path, duration_s: float) -> list[int]:
        """The raw fingerprint items; [] when the file has no audio."""
        seconds = min(duration_s, MAX_AUDIO_S)
        decode = await asyncio.to_thread(
            functools.partial(
                hardened_ffmpeg,
                self.limits,
                int(60 + seconds / 5),
                path,
                input_options=["-t", f"{seconds:.3f}"],
            )
        )
        read_end, write_end = os.pipe()
        try:
            ffmpeg = await asyncio.create_subprocess_exec(
                *decode, "-map", "0:a:0?", "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(RATE),
                "-f", "s16le", "pipe:1",
                stdin=asyncio.subprocess.DEVNULL, stdout=write_end,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            fpcalc = await asyncio.create_subprocess_exec(
                *prlimit_prefix(self.limits.child_address_space_bytes, int(60 + seconds / 5)),
                self._fpcalc, "-format", "s16le", "-rate", str(RATE), "-channels", "1",
                "-raw", "-json", "-length", "0", "-",
                stdin=read_end, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            os.close(read_end)
            os.close(write_end)
        try:
            out, _ = await asyncio.wait_for(fpcalc.communicate(), TIMEOUT_S)
            code = await asyncio.wait_for(ffmpeg.wait(), TIMEOUT_S)
        finally:
            for child in (ffmpeg, fpcalc):
                if child.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.kill()
                    await child.wait()
        if code != 0:
            raise AudioUnreadable(f"ffmpeg exited with {code} decoding the audio")
        if not out.strip():
            return []  # no audio at all (fpcalc read nothing)
        try:
            items = json.loads(out)["fingerprint"]
        except (ValueError, KeyError, TypeError) as exc:
            raise AudioUnreadable("fpcalc gave no fingerprint") from exc
        return [int(item) & 0xFFFFFFFF for item in items]
