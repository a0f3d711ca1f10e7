"""Python SDK: resumable tus uploads with progress, and the upload's status."""

from gateway.client.resume import ResumeStore, fingerprint
from gateway.client.uploader import UploadClient, UploadError

__all__ = ["ResumeStore", "UploadClient", "UploadError", "fingerprint"]
