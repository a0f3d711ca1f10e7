"""ffprobe/ffmpeg adapters. Untrusted media never makes ffmpeg open anything but the one file."""
