"""Reads of the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import AuditEvent


def audit_events(*, limit: int = 200) -> QuerySet[AuditEvent]:
    """The latest events, newest first, with who did them and what they touched."""
    return AuditEvent.objects.select_related("actor", "upload", "release").order_by("-at")[:limit]
