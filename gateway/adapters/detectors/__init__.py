"""Detectors: sampled frames in, signals out. They know nothing of HTTP or the database."""
