"""Ports: the Protocols adapters implement and services take. Pure typing; no IO here.

clock         Clock
storage       StagingStore, StagedWriter, StagedCopies, ObjectStore, Destination
media         Prober, FrameSampler, Transcoder
detection     Detector
locking       Locker
persistence   the repositories, and UnitOfWork for what must commit together
"""
