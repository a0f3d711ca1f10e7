"""One access-log record (clause 3.1.8): who asked what, from where, when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class AccessRecord:
    at: dt.datetime
    request_id: str
    client_ip: str | None
    tenant_id: str | None
    host: str | None
    origin: str | None
    method: str
    path: str
    upload_id: str | None
    bytes_in: int
    bytes_out: int
    status: int
    duration_ms: int
    client_request_id: str | None = None  # the caller's own X-Request-Id, when plain

    def as_row(self) -> dict[str, object]:
        # Not dataclasses.asdict: its deep copy is measurable at hundreds of requests a second.
        return {name: getattr(self, name) for name in ACCESS_FIELDS}


ACCESS_FIELDS = tuple(f.name for f in fields(AccessRecord))
