"""Delivery, one module per stage, each durable and idempotent (clause 4.3).

    quarantine  staging = s3: received -> (quarantine bucket) -> screening job
                the receiving node hands its staged file to the shared bucket, verified
    forward     approved -> forwarding -> stored
                the source to tenants/{t}/videos/{id}/source.{ext} through the approval
                gate, verified by HEAD; only then is the staged copy dropped
    transcode   stored -> transcoding -> delivered -> released
                renditions (and HLS) delivered and verified, then every result destroyed
                and a receipt recorded (release.py)

A crash at any point re-runs the stage from its start: an object already in place with the
right size and ETag is not written again. Failures retry with backoff; after the last
attempt the upload fails with the code.
"""
