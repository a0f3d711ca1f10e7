"""Filters that make every source look the same to the models and the renditions: whole
frames from interlaced video, and SDR from HDR. Display rotation needs none: ffmpeg applies
the display matrix itself (autorotate) before these."""

from __future__ import annotations

# PQ/HLG to SDR BT.709: to linear light (100-nit white), tone-mapped, back to BT.709 in
# 8 bits. Without it HDR frames reach the models washed out. Mobius keeps everything up to
# SDR white as it was and compresses only brighter highlights: a pink HLG test clip comes
# back at its SDR colour (hable darkened it by half; measured in tests/integration/
# test_formats.py's clip).
TONEMAP_TO_SDR = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
    "tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)
# Deinterlace only the frames flagged interlaced (broadcast MPEG-2, DV).
DEINTERLACE = "yadif=deint=interlaced"


def normalising_filters(*, interlaced: bool, hdr: bool) -> list[str]:
    """The filters to put first in a chain for a source with these properties."""
    chain = []
    if interlaced:
        chain.append(DEINTERLACE)
    if hdr:
        chain.append(TONEMAP_TO_SDR)
    return chain
