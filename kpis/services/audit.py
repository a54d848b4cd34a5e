"""The audit log: who did what, when. Every service that changes state records it here."""

from __future__ import annotations

from django.utils import timezone

from ..models import AuditEvent


def audit(*, action: str, actor=None, upload=None, release=None, **detail) -> AuditEvent:
    """Record one event in the audit log."""
    return AuditEvent.objects.create(
        at=timezone.now(), actor=actor, action=action, upload=upload, release=release, detail=detail
    )
