"""Filters that make every source look the same to the models and the renditions: whole
frames from interlaced video, and SDR from HDR. Display rotation needs none: ffmpeg applies
the display matrix itself (autorotate) before these."""

from __future__ import annotations

# Deinterlace only the frames flagged interlaced (broadcast MPEG-2, DV). It needs the frames
# around each one, so it runs before sampling picks frames.
DEINTERLACE = "yadif=deint=interlaced"


def to_sdr(transfer: str) -> str:
    """PQ or HLG (as ffprobe names the transfer) to SDR BT.709: to linear light at a 100-nit
    white, tone-mapped, back to BT.709 in 8 bits. Without it HDR frames reach the models
    washed out. Mobius keeps what is below SDR white as it was and compresses only brighter
    highlights: a pink HLG test clip comes back at its SDR colour and score (hable darkened
    it by half). The input's transfer and primaries are named, not read from the frame,
    because a scale before it may drop the frame's tags. It runs on each frame it gets: the
    sampler puts it after sampling and scaling (costly at 1080p on every frame)."""
    return (
        f"zscale=tin={transfer}:pin=bt2020:min=bt2020nc:t=linear:npl=100,format=gbrpf32le,"
        "zscale=p=bt709,tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,"
        "format=yuv420p"
    )
