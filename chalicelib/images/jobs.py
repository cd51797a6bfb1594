"""Entry points outside a request: the sweep (schedule, ``manage sweep``) and binary types."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate

from chalicelib import services

# Scheduled functions: on Lambda each becomes a function of its own with an
# EventBridge rule (`chalice package`); on EC2 a systemd timer runs `manage sweep`.
schedules = Blueprint(__name__)

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


@schedules.schedule(Rate(1, unit=Rate.HOURS), name="sweep_images")
def sweep_images(event: Any) -> None:
    """Hourly on Lambda: expire day-old pending images, retry failed file deletions."""
    sweep()
