"""Entry points outside a request: the sweep (schedule, ``manage sweep``) and binary types."""

from __future__ import annotations

from chalicelib import services

BINARY_TYPES = [
    # A client that accepts any image (Accept: image/*) gets the bytes; without this,
    # Chalice and API Gateway answer 400 unless Accept names the exact type or */*.
    "image/*",
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

    current = services.current()
    report = service.sweep(services=current, now=current.clock())
    return f"expired {report.expired}, cleaned {report.cleaned}, failed {report.failed}"
