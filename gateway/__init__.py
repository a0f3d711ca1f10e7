"""vodgate: a content-moderation upload gateway for a video-on-demand service."""

__version__ = "0.1.0"
