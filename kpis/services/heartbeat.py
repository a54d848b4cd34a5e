"""Workers' heartbeats, for the readiness check."""

from __future__ import annotations

from django.utils import timezone

from ..models import WorkerHeartbeat


def heartbeat_record(*, worker: str, now=None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=worker, defaults={"beat_at": now or timezone.now()}
    )
