"""Entry points outside a request: the sweep (schedule, ``manage sweep``) and binary types."""

from __future__ import annotations

import datetime as dt

from chalicelib import services

BINARY_TYPES = [
    "multipart/form-data",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/avif",
]


def sweep() -> str:
    """Run one sweep with the process's services; returns a one-line summary."""
    from chalicelib.images import service

    report = service.sweep(services=services.current(), now=dt.datetime.now(dt.UTC))
    return f"expired {report.expired}, cleaned {report.cleaned}, failed {report.failed}"
