"""FfprobeProber: what a staged file is, refused with a code when it is not a video we take."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.adapters.media.formats import VIDEO_DECODERS, Accepted, refused_container
from gateway.adapters.media.limits import (
    ALLOWED_DEMUXERS,
    ALLOWED_PROTOCOLS,
    MediaLimits,
    prlimit_prefix,
)
from gateway.domain.errors import MediaNoVideo, MediaRefused, MediaTooLong, MediaUnsupported
from gateway.domain.media import MediaFacts, SubtitleStream, VideoStream

logger = logging.getLogger(__name__)

# Signatures of containers that must never reach a demuxer (read from the first bytes).
_PLAYLIST_MARKERS = (b"#EXTM3U", b"ffconcat", b"[playlist]", b"<?xml", b"<smil")
_IMAGE_MAGIC = (b"GIF87a", b"GIF89a", b"\x89PNG", b"\xff\xd8\xff", b"BM")


class FfprobeProber:
    def __init__(
        self,
        limits: MediaLimits | None = None,
        ffprobe: str = "ffprobe",
        video_decoders: Mapping[str, Accepted] | None = None,
    ) -> None:
        self.limits = limits or MediaLimits()
        self._ffprobe = ffprobe
        # Codecs we accept and this ffmpeg can decode (the composition root checks them).
        self._video_decoders = dict(VIDEO_DECODERS if video_decoders is None else video_decoders)

    def argv(self, path: Path) -> list[str]:
        return [
            *prlimit_prefix(self.limits.child_address_space_bytes, self.limits.probe_cpu_s),
            self._ffprobe,
            "-v",
            "error",
            "-hide_banner",
            "-protocol_whitelist",
            ALLOWED_PROTOCOLS,
            "-format_whitelist",
            ",".join(ALLOWED_DEMUXERS),
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            # "file:" so a name can never be read as another protocol or an option.
            f"file:{path.resolve()}",
        ]

    async def probe(self, path: Path) -> MediaFacts:
        head = await asyncio.to_thread(_read_head, path)
        if not head:
            raise MediaRefused("the file is empty")
        if head.lstrip().startswith(_PLAYLIST_MARKERS):
            raise MediaUnsupported("playlists and concat scripts are not accepted")
        if head.startswith(_IMAGE_MAGIC):
            raise MediaUnsupported("still images are not accepted")
        container = refused_container(head)
        if container is not None:
            raise MediaUnsupported(
                f"the container {container} is not accepted "
                f"(accepted: {', '.join(ALLOWED_DEMUXERS)})"
            )
        out, err, code = await self._run(path)
        if code != 0:
            logger.info("probe.refused", extra={"returncode": code, "stderr": err[-300:]})
            raise MediaRefused(
                "the file is not a readable video in an accepted container "
                f"({', '.join(ALLOWED_DEMUXERS)})"
            )
        return self._interpret(json.loads(out or "{}"))

    async def _run(self, path: Path) -> tuple[str, str, int]:
        argv = await asyncio.to_thread(self.argv, path)  # resolving the path reads the disk
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), self.limits.probe_timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            process.kill()
            await process.wait()
            raise
        return out.decode(errors="replace"), err.decode(errors="replace"), process.returncode or 0

    def _interpret(self, data: dict[str, Any]) -> MediaFacts:
        fmt = data.get("format") or {}
        streams = data.get("streams") or []
        if len(streams) > self.limits.max_streams:
            raise MediaUnsupported(f"{len(streams)} streams; at most {self.limits.max_streams}")
        video = next(
            (
                s
                for s in streams
                if s.get("codec_type") == "video"
                and not (s.get("disposition") or {}).get("attached_pic")
            ),
            None,
        )
        if video is None:
            raise MediaNoVideo("the file has no video stream")
        codec = str(video.get("codec_name", ""))
        if codec not in self._video_decoders:
            accepted = ", ".join(sorted(self._video_decoders))
            raise MediaUnsupported(
                f"the video codec {codec or 'unknown'} is not accepted (accepted: {accepted})"
            )
        width, height = int(video.get("width") or 0), int(video.get("height") or 0)
        if width <= 0 or height <= 0:
            raise MediaRefused("the video stream has no frame size")
        if width * height > self.limits.max_pixels:
            raise MediaUnsupported(f"{width}x{height} is larger than accepted")
        duration = _float(fmt.get("duration")) or _float(video.get("duration"))
        if duration is None or duration <= 0:
            raise MediaRefused("the file has no duration")
        if duration > self.limits.max_duration_s:
            raise MediaTooLong(
                f"{duration:.0f} s is longer than {self.limits.max_duration_s:.0f} s"
            )
        return MediaFacts(
            format_name=str(fmt.get("format_name", "")),
            duration_s=duration,
            size_bytes=int(fmt.get("size") or 0),
            video=VideoStream(
                index=int(video.get("index", 0)),
                codec=codec,
                width=width,
                height=height,
                frame_rate=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
                duration_s=_float(video.get("duration")),
                rotation=_rotation(video),
                pix_fmt=str(video.get("pix_fmt", "")),
                color_transfer=str(video.get("color_transfer", "")),
                field_order=str(video.get("field_order", "")),
            ),
            stream_count=len(streams),
            tags={str(k): str(v)[:500] for k, v in (fmt.get("tags") or {}).items()},
            audio_codec=next(
                (str(s.get("codec_name")) for s in streams if s.get("codec_type") == "audio"),
                None,
            ),
            subtitles=tuple(
                SubtitleStream(
                    index=int(s.get("index", 0)),
                    codec=str(s.get("codec_name", ""))[:40],
                    language=str((s.get("tags") or {}).get("language", ""))[:20],
                )
                for s in streams
                if s.get("codec_type") == "subtitle"
            ),
        )


def _rotation(video: dict[str, Any]) -> int:
    """The display matrix's rotation (side data), or the older `rotate` tag."""
    for side in video.get("side_data_list") or []:
        if isinstance(side, dict) and "rotation" in side:
            return int(_float(side["rotation"]) or 0) % 360
    return int(_float((video.get("tags") or {}).get("rotate", 0)) or 0) % 360


def _read_head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(64)


def _float(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _rate(value: object) -> float:
    num, _, den = str(value or "0/1").partition("/")
    try:
        return float(num) / float(den or 1) if float(den or 1) else 0.0
    except ValueError:
        return 0.0
