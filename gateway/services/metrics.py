"""Prometheus metrics, all in one place. Labels have few values; never ids."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "vodgate_http_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "vodgate_http_request_duration_seconds", "HTTP request latency", ["route"], registry=r
        )
        self.received_bytes = Counter(
            "vodgate_upload_received_bytes_total", "Bytes made durable in staging", registry=r
        )
        self.uploads_created = Counter(
            "vodgate_uploads_created_total", "Uploads created", registry=r
        )
        self.uploads_completed = Counter(
            "vodgate_uploads_completed_total", "Uploads whose last byte arrived", registry=r
        )
        self.uploads_expired = Counter(
            "vodgate_uploads_expired_total", "Incomplete uploads swept after expiry", registry=r
        )
        self.uploads_terminated = Counter(
            "vodgate_uploads_terminated_total", "Uploads terminated by the client", registry=r
        )
        self.licence_rejections = Counter(
            "vodgate_licence_rejections_total",
            "Uploads refused at creation by the licence pre-flight",
            ["code"],
            registry=r,
        )
        self.checksum_mismatches = Counter(
            "vodgate_checksum_mismatches_total", "PATCH bodies discarded on checksum", registry=r
        )
        self.body_checkpoints = Counter(
            "vodgate_body_checkpoints_total",
            "Offsets recorded in the middle of a long PATCH body",
            registry=r,
        )
        self.interrupted_bodies = Counter(
            "vodgate_interrupted_bodies_total", "PATCH bodies that stopped half-way", registry=r
        )
        self.active_writes = Gauge(
            "vodgate_active_writes", "PATCH bodies being received now", registry=r
        )
        self.screening_verdicts = Counter(
            "vodgate_screening_verdicts_total", "Screening decisions", ["verdict"], registry=r
        )
        self.screening_failures = Counter(
            "vodgate_screening_failures_total",
            "Screenings that failed every attempt",
            registry=r,
        )
        self.accesslog_queue = Gauge(
            "vodgate_accesslog_queue_records",
            "Access log records waiting to be written",
            registry=r,
        )
        self.delivery_bytes = Counter(
            "vodgate_delivered_bytes_total",
            "Bytes written to the destination store and verified",
            ["kind"],
            registry=r,
        )
        self.delivery_failures = Counter(
            "vodgate_delivery_failures_total",
            "Failed forwarding or transcoding attempts",
            ["stage", "code"],
            registry=r,
        )
        self.results_released = Counter(
            "vodgate_transcode_results_released_total",
            "Uploads whose transcode results were destroyed (clause 4.3)",
            ["delivered"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "vodgate_webhook_deliveries_total",
            "Webhook delivery attempts by outcome",
            ["outcome"],
            registry=r,
        )
        self.review_actions = Counter(
            "vodgate_review_actions_total",
            "Reviewer actions (claim, release, decide_<outcome>, appeal)",
            ["action"],
            registry=r,
        )
        self.review_queue_depth = Gauge(
            "vodgate_review_queue_depth", "Open review items", registry=r
        )
        self.review_age = Gauge(
            "vodgate_review_age_seconds", "Age of the oldest open review item", registry=r
        )
        self.review_overdue = Gauge(
            "vodgate_review_overdue", "Open review items past their SLA", registry=r
        )
        self.quota_refusals = Counter(
            "vodgate_quota_refusals_total",
            "Requests refused by a fair-use limit (clause 3.1.3.6)",
            ["limit"],
            registry=r,
        )
        # Scale-out: where one instance meets the others.
        self.misdirected_writes = Counter(
            "vodgate_misdirected_writes_total",
            "PATCH or DELETE refused: the upload is staged on another instance's disk",
            registry=r,
        )
        self.lock_refusals = Counter(
            "vodgate_upload_lock_refusals_total",
            "Requests refused (423) because another request, here or on another "
            "instance, was writing to the upload",
            registry=r,
        )
        self.lock_wait = Histogram(
            "vodgate_upload_lock_wait_seconds",
            "Time taken to take (or be refused) an upload's write lock",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
            registry=r,
        )
        self.lease_expiries = Counter(
            "vodgate_job_lease_expiries_total",
            "Jobs taken over after their holder's lease lapsed (a dead or stuck worker)",
            ["stage"],
            registry=r,
        )
        self.jobs_handed_back = Counter(
            "vodgate_jobs_handed_back_total",
            "Jobs a stopping worker gave back before finishing them",
            ["stage"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "vodgate_job_queue_depth", "Jobs waiting or running, per stage", ["stage"], registry=r
        )
        self.queue_age = Gauge(
            "vodgate_job_queue_age_seconds",
            "Age of the oldest job waiting, per stage",
            ["stage"],
            registry=r,
        )
        self.workers_alive = Gauge(
            "vodgate_workers_alive",
            "Worker processes seen within their heartbeat interval, per stage",
            ["stage"],
            registry=r,
        )
