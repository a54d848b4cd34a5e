"""Reads for the readiness check."""

from __future__ import annotations

from django.db.models import Max

from ..models import WorkerHeartbeat


def worker_heartbeat_latest():
    """When any worker last beat (``None`` if none ever has): one query."""
    return WorkerHeartbeat.objects.aggregate(latest=Max("beat_at"))["latest"]
