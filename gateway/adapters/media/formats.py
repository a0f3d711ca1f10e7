"""What the gateway accepts, by the names ffmpeg itself uses: the formats table.

A demuxer or decoder not named here is refused with `media_unsupported`, naming it. Each
entry says why it is here. `tests/integration/test_formats.py` ties every name to the ffmpeg
on the machine, and `ffmpeg_capabilities()` tells the gateway at start which are missing
(those are refused, never half-decoded)."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    name: str  # ffmpeg's demuxer or decoder name
    reason: str


# Demuxers (-format_whitelist). A demuxer allow-list is what stops a playlist (HLS, ffconcat)
# disguised as a video from reading other local files; -protocol_whitelist file alone does
# not (measured, shared/reference/media-and-models.md).
DEMUXERS = (
    Accepted("mov", "MP4, MOV, 3GP and fragmented MP4: phones, cameras, editors"),
    Accepted("matroska", "MKV and WebM: screen recorders, the web"),
    Accepted("flv", "FLV: older live-streaming archives"),
    Accepted("mpegts", "MPEG-TS: broadcast and HLS recordings"),
    Accepted("avi", "AVI: MPEG-4 part 2 and MJPEG camera files"),
    Accepted("mpeg", "MPEG-PS (.mpg, .vob): DVD and archive MPEG-1/2"),
    Accepted("asf", "ASF (.wmv): Windows Media archives"),
    Accepted("mxf", "MXF: broadcast and editors' mezzanine files (DNxHD, XDCAM)"),
)

# Video: ffprobe's codec name -> the decoder ffmpeg must use (-codec_whitelist, -c:v).
VIDEO_DECODERS: dict[str, Accepted] = {
    "h264": Accepted("h264", "H.264/AVC: most uploads"),
    "hevc": Accepted("hevc", "HEVC 8- and 10-bit: phones"),
    "vp8": Accepted("vp8", "VP8 in WebM"),
    "vp9": Accepted("vp9", "VP9 in WebM and MKV"),
    "av1": Accepted("libdav1d", "AV1: dav1d is the decoder Debian's ffmpeg picks for AV1"),
    "mpeg4": Accepted("mpeg4", "MPEG-4 part 2 (Xvid, DivX) in AVI"),
    "mpeg1video": Accepted("mpeg1video", "MPEG-1 in MPEG-PS archives"),
    "mpeg2video": Accepted("mpeg2video", "MPEG-2 in MPEG-PS, VOB, TS and XDCAM MXF"),
    "prores": Accepted("prores", "Apple ProRes 422 and 4444: editors' masters"),
    "dnxhd": Accepted("dnxhd", "Avid DNxHD and DNxHR in MXF and MOV"),
    "mjpeg": Accepted("mjpeg", "Motion JPEG: cameras"),
    "wmv1": Accepted("wmv1", "Windows Media Video 7"),
    "wmv2": Accepted("wmv2", "Windows Media Video 8"),
    "wmv3": Accepted("wmv3", "Windows Media Video 9"),
    "vc1": Accepted("vc1", "VC-1 (WMV9 Advanced) in ASF"),
    "h263": Accepted("h263", "H.263 in 3GP: old phones"),
    "flv1": Accepted("flv", "Sorenson Spark in FLV"),
}

# Audio: decoded only by the transcoder (renditions keep the sound); screening never decodes
# it. A track in another codec is left out of the renditions rather than failing them.
AUDIO_DECODERS: dict[str, tuple[str, ...]] = {
    "aac": ("aac", "aac_fixed"),
    "mp3": ("mp3float", "mp3"),
    "mp2": ("mp2float", "mp2"),
    "ac3": ("ac3", "ac3_fixed"),
    "eac3": ("eac3",),
    "opus": ("opus",),
    "vorbis": ("vorbis",),
    "flac": ("flac",),
    "wmav1": ("wmav1",),
    "wmav2": ("wmav2",),
    "amr_nb": ("amrnb",),
    "pcm_s16le": ("pcm_s16le",),
    "pcm_s16be": ("pcm_s16be",),
    "pcm_s24le": ("pcm_s24le",),
    "pcm_s24be": ("pcm_s24be",),
    "pcm_s32le": ("pcm_s32le",),
}

# Text subtitles: ffprobe's codec name -> the decoders ffmpeg may pick for it (-codec_whitelist).
# Every text decoder yields ASS events, so each track is converted to ASS (SUBTITLE_ENCODER)
# and read in Python: only ASS keeps the drawing mode (\p1) that marks vector shapes, which
# a conversion to SRT would hand on as text. Keys match domain.media.TEXT_SUBTITLE_CODECS.
SUBTITLE_DECODERS: dict[str, tuple[str, ...]] = {
    "subrip": ("subrip", "srt"),
    "srt": ("srt", "subrip"),
    "mov_text": ("mov_text",),
    "webvtt": ("webvtt",),
    # ffmpeg's first decoder for ASS is named `ssa`: both names are allowed.
    "ass": ("ssa", "ass"),
    "ssa": ("ssa", "ass"),
    "text": ("text",),
}
SUBTITLE_ENCODER = "ass"

# Containers refused before ffmpeg sees them, recognised by their first bytes so that the
# refusal can name them: (magic, offset, name). Any other unlisted container fails the
# allow-listed probe and is refused as not a readable video.
REFUSED_CONTAINERS = (
    (b"OggS", 0, "ogg"),
    (b"DKIF", 0, "ivf"),
    (b"YUV4MPEG2", 0, "yuv4mpeg"),
    # Raw H.264/HEVC elementary streams: no container, no duration, no timestamps to cite
    # in evidence; and their demuxers guess from any bytes. Refused (a phone never sends one).
    (b"\x00\x00\x00\x01", 0, "raw H.264/HEVC elementary stream"),
    (b"\x00\x00\x01\x09", 0, "raw H.264 elementary stream"),
)


def refused_container(head: bytes) -> str | None:
    """The name of a container we refuse, recognised by its first bytes."""
    for magic, offset, name in REFUSED_CONTAINERS:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


@dataclass(frozen=True, slots=True)
class FfmpegCapabilities:
    demuxers: frozenset[str]
    decoders: frozenset[str]

    def missing(self) -> list[str]:
        """Allowed names this ffmpeg lacks."""
        wanted = [d.name for d in DEMUXERS] + [d.name for d in VIDEO_DECODERS.values()]
        have = self.demuxers | self.decoders
        return [name for name in wanted if name not in have]

    def video_decoders(self) -> dict[str, Accepted]:
        """The accepted video codecs whose decoder this ffmpeg has."""
        return {c: d for c, d in VIDEO_DECODERS.items() if d.name in self.decoders}

    def audio_decoders(self) -> dict[str, tuple[str, ...]]:
        return {c: names for c, names in AUDIO_DECODERS.items() if names[0] in self.decoders}


def ffmpeg_capabilities(ffmpeg: str = "ffmpeg") -> FfmpegCapabilities:
    """What this machine's ffmpeg can demux and decode (blocking: at start, in a thread)."""

    def names(kind: str, skip: int) -> frozenset[str]:
        out = subprocess.run(  # noqa: S603 - argv list, our own binary
            [ffmpeg, "-hide_banner", f"-{kind}"], capture_output=True, text=True, timeout=30
        ).stdout
        found: set[str] = set()
        for line in out.splitlines():
            parts = line.split()
            if (
                len(parts) > skip
                and parts[0] not in ("File", "Decoders:", "--")
                and "=" not in line
            ):
                found.update(parts[skip].split(","))
        return frozenset(found)

    capabilities = FfmpegCapabilities(names("demuxers", 1), names("decoders", 1))
    missing = capabilities.missing()
    if missing:
        logger.error("media.ffmpeg_lacks", extra={"names": missing, "effect": "refused"})
    return capabilities
