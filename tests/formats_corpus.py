"""The formats corpus: one short clip per container and codec a VOD platform takes, made by
ffmpeg from lavfi sources with the encoders Debian's ffmpeg has, in any colour."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
SECONDS = 4
SINE = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}:sample_rate=48000"]


@dataclass(frozen=True)
class Sample:
    name: str  # also the file name
    codec: str  # what the probe must report
    args: tuple[str, ...]  # encoder options after the inputs
    size: str = "160x120"
    audio: bool = True
    source_filter: str = ""  # applied to the colour source before encoding
    rate: int = 10  # frames a second (MXF takes broadcast rates only)


X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
CORPUS = (
    Sample("h264.mp4", "h264", (*X264, "-c:a", "aac")),
    Sample("h264.mov", "h264", (*X264, "-c:a", "aac")),
    Sample("h264.mkv", "h264", (*X264, "-c:a", "libopus")),
    Sample("h264.flv", "h264", (*X264, "-c:a", "aac")),
    Sample("h264.ts", "h264", (*X264, "-c:a", "aac")),
    Sample("h264.3gp", "h264", (*X264, "-c:a", "aac")),
    Sample("h264-fragmented.mp4", "h264",
           (*X264, "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov")),
    Sample("hevc.mp4", "hevc", ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                "log-level=error", "-tag:v", "hvc1", "-c:a", "aac")),
    Sample("hevc10.mp4", "hevc", ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt",
                                  "yuv420p10le", "-x265-params", "log-level=error",
                                  "-tag:v", "hvc1", "-c:a", "aac")),
    Sample("vp9.webm", "vp9", ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used",
                               "8", "-c:a", "libopus")),
    Sample("av1.mp4", "av1", ("-c:v", "libaom-av1", "-cpu-used", "8", "-crf", "30",
                              "-c:a", "aac")),
    Sample("mpeg2.mpg", "mpeg2video", ("-c:v", "mpeg2video", "-c:a", "mp2")),
    Sample("mpeg2.ts", "mpeg2video", ("-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpegts")),
    Sample("mpeg4.avi", "mpeg4", ("-c:v", "mpeg4", "-q:v", "3", "-c:a", "libmp3lame")),
    Sample("prores422.mov", "prores", ("-c:v", "prores_ks", "-profile:v", "2",
                                       "-c:a", "pcm_s16le")),
    Sample("prores4444.mov", "prores", ("-c:v", "prores_ks", "-profile:v", "4", "-pix_fmt",
                                        "yuva444p10le", "-c:a", "pcm_s16le")),
    Sample("dnxhr.mxf", "dnxhd", ("-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt",
                                  "yuv422p", "-c:a", "pcm_s16le"), size="256x144", rate=25),
    Sample("dnxhr.mov", "dnxhd", ("-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt",
                                  "yuv422p", "-c:a", "pcm_s16le"), size="256x144"),
    Sample("mjpeg.avi", "mjpeg", ("-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p",
                                  "-c:a", "pcm_s16le")),
    Sample("wmv2.wmv", "wmv2", ("-c:v", "wmv2", "-q:v", "3", "-c:a", "wmav2")),
    Sample("h263.3gp", "h263", ("-c:v", "h263", "-q:v", "3"), size="176x144", audio=False),
    Sample("vfr.mp4", "h264", (*X264, "-fps_mode", "vfr"),
           source_filter="setpts='PTS+if(gte(N\\,10)\\,0.05*N/TB\\,0)'", audio=False),
    Sample("interlaced.mpg", "mpeg2video",
           ("-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-c:a", "mp2"),
           size="176x144", source_filter="tinterlace=mode=interleave_top"),
    Sample("hlg10.mp4", "hevc",
           ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
            "-x265-params",
            "colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc:log-level=error",
            "-color_trc", "arib-std-b67", "-color_primaries", "bt2020",
            "-colorspace", "bt2020nc", "-tag:v", "hvc1", "-c:a", "aac"),
           source_filter="zscale=tin=bt709:min=bt709:pin=bt709:t=arib-std-b67:m=bt2020nc"
                         ":p=bt2020,format=yuv420p10le"),
)  # fmt: skip


def make(sample: Sample, folder: Path, colour: str) -> Path:
    """The sample in one colour (the colour model's score follows it)."""
    path = folder / f"{colour}-{sample.name}"
    source = [
        "-f", "lavfi", "-i", f"color=c={colour}:s={sample.size}:r={sample.rate}:d={SECONDS}"
    ]  # fmt: skip
    filters = ["-vf", sample.source_filter] if sample.source_filter else []
    audio = SINE if sample.audio else []
    subprocess.run(
        [*FFMPEG, *source, *audio, *filters, *sample.args, "-shortest", str(path)],
        check=True,
        timeout=120,
    )
    return path


def rotated(source: Path, degrees: int) -> Path:
    """The same stream with a display rotation (as a phone writes it), not re-encoded."""
    path = source.with_name(f"rotate{degrees}-{source.name}")
    subprocess.run(
        [*FFMPEG, "-i", str(source), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}",
         str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


def half_red(folder: Path) -> Path:
    """Red on the coded frame's left half, blue on the right: rotated, which half shows on
    top tells whether the frames were turned upright."""
    path = folder / "left-red.mp4"
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", f"color=c=blue:s=320x240:r=10:d={SECONDS}",
         "-vf", "drawbox=x=0:y=0:w=iw/2:h=ih:color=red:t=fill", *X264, str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path
