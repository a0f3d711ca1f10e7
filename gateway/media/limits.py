"""Hardening limits for ffprobe/ffmpeg children, each a named constant with its reason."""

from __future__ import annotations

from dataclasses import dataclass

# Demuxers allowed to open an upload. A demuxer allow-list is what stops a playlist (HLS,
# ffconcat) disguised as .mp4 from reading other local files; -protocol_whitelist file alone
# does not (measured, shared/reference/media-and-models.md).
ALLOWED_DEMUXERS = ("mov", "matroska", "flv", "mpegts", "avi")
# Only the staged file itself; no network protocol, no pipes to other processes.
ALLOWED_PROTOCOLS = "file"
# Decoders for video we accept; audio is never decoded while screening.
ALLOWED_VIDEO_DECODERS = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "flv")
# Transcoding keeps the sound, so it also decodes these.
ALLOWED_AUDIO_DECODERS = ("aac", "mp3", "mp3float", "opus", "vorbis", "ac3", "pcm_s16le")


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
