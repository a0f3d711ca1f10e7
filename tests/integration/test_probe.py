"""The hardened probe against real ffprobe: good clips pass, hostile files are refused with a
code, and a playlist never makes ffprobe open what it names."""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path

import pytest

from gateway.adapters.media.limits import MediaLimits
from gateway.adapters.media.probe import FfprobeProber
from gateway.domain.errors import MediaRefused
from tests.media import audio_only, colour_clip

PROBER = FfprobeProber()


async def test_probe_reads_a_real_clip(tmp_path: Path) -> None:
    clip = colour_clip(tmp_path / "c.mp4", 3, extra=("-metadata", "title=Demo"))
    result = await PROBER.probe(clip)
    assert result.video.codec == "h264"
    assert (result.video.width, result.video.height) == (160, 120)
    assert result.duration_s == pytest.approx(3, abs=0.2)
    assert result.video.frame_rate == pytest.approx(10)
    assert result.tags.get("title") == "Demo"


async def refused(path: Path, prober: FfprobeProber = PROBER) -> str:
    with pytest.raises(MediaRefused) as info:
        await prober.probe(path)
    return info.value.code


async def test_hostile_and_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "random.mp4").write_bytes(os.urandom(200_000))
    (tmp_path / "text.mp4").write_text("hello, this is not a video\n" * 100)
    clip = colour_clip(tmp_path / "full.mp4", 4).read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(clip[: len(clip) // 3])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (60000).to_bytes(4, "big") * 2
    (tmp_path / "bomb.mp4").write_bytes(png + b"\x08\x02\x00\x00\x00" + b"\x00" * 64)
    (tmp_path / "bomb.gif").write_bytes(b"GIF89a" + b"\xff\xff\xff\xff" + b"\x00" * 64)
    assert await refused(tmp_path / "zero.mp4") == "media_invalid"
    assert await refused(tmp_path / "random.mp4") == "media_invalid"
    assert await refused(tmp_path / "text.mp4") == "media_invalid"
    assert await refused(tmp_path / "truncated.mp4") == "media_invalid"
    assert await refused(tmp_path / "bomb.mp4") == "media_unsupported"
    assert await refused(tmp_path / "bomb.gif") == "media_unsupported"
    assert await refused(audio_only(tmp_path / "audio.mp4")) == "media_no_video"


async def test_limits_on_resolution_duration_and_streams(tmp_path: Path) -> None:
    big = colour_clip(tmp_path / "big.mp4", 0.2, size="4200x2200", rate=5)
    assert await refused(big) == "media_unsupported"
    long = colour_clip(tmp_path / "long.mp4", 12)
    assert await refused(long, FfprobeProber(MediaLimits(max_duration_s=10))) == "media_too_long"
    assert await refused(long, FfprobeProber(MediaLimits(max_streams=0))) == "media_unsupported"


async def test_many_tiny_frames_probe_quickly(tmp_path: Path) -> None:
    clip = colour_clip(tmp_path / "frames.mp4", 100, size="16x16", rate=1000)
    result = await PROBER.probe(clip)
    assert result.video.frame_rate == pytest.approx(1000)


class OpenWatch:
    """A FIFO that records whether anything opened it for reading, and a TCP listener that
    records whether anything connected: together they prove nothing named was touched."""

    def __init__(self, directory: Path) -> None:
        self.fifo = directory / "sentinel.ts"
        os.mkfifo(self.fifo)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.touched: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                self.touched.append("file")
                os.close(fd)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader has it open
                    raise
            try:
                connection, _ = self.listener.accept()
                self.touched.append("http")
                connection.close()
            except TimeoutError:
                pass

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()
        return self.touched


@pytest.mark.parametrize("kind", ["hls", "ffconcat"])
async def test_a_playlist_named_mp4_opens_nothing(tmp_path: Path, kind: str) -> None:
    watch = OpenWatch(tmp_path)
    if kind == "hls":
        text = (
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n"
            f"#EXTINF:10,\nfile://{watch.fifo}\n"
            f"#EXTINF:10,\nhttp://127.0.0.1:{watch.port}/segment.ts\n"
            "#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
        )
    else:
        text = f"ffconcat version 1.0\nfile '{watch.fifo}'\nfile 'http://127.0.0.1:{watch.port}/a.ts'\n"
    playlist = tmp_path / "innocent.mp4"
    playlist.write_text(text)
    try:
        assert await refused(playlist) == "media_unsupported"
        # The allow-list alone, without our sniffing, must refuse too: run ffprobe as we do.
        out, _err, code = await PROBER._run(playlist)
        assert code != 0
        assert out.strip() in ("", "{\n\n}")
        # And with a leading blank line the sniff still sees it.
        playlist.write_text("\n\n" + text)
        assert await refused(playlist) == "media_unsupported"
    finally:
        touched = watch.stop()
    assert touched == []


def test_argv_keeps_the_allow_lists() -> None:
    argv = PROBER.argv(Path("/x/y.mp4"))
    assert argv[0] == "prlimit"
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-format_whitelist") + 1] == "mov,matroska,flv,mpegts,avi,mpeg,asf,mxf"
    assert argv[-1] == "file:/x/y.mp4"
