"""Releases: approved values become public only in a dated release announced in advance."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from strategy.access import Action, user_can
from strategy.models import User

from ..models import AuditEvent, Observation, Release
from ..selectors.releases import unreleased_approved
from .audit import audit
from .progress import published_assessments_compute

MANAGERS_ONLY = "Only the Strategy Implementation Group manages releases."


def _require(user: User, action: Action, why: str) -> None:
    if not user_can(user, action):
        raise PermissionDenied(why)


@transaction.atomic
def release_schedule(*, title: str, scheduled_for: datetime, user: User, note: str = "") -> Release:
    """Announce a release in the calendar; it must be announced before it happens."""
    _require(user, Action.MANAGE_RELEASES, MANAGERS_ONLY)
    now = timezone.now()
    if scheduled_for <= now:
        raise ValidationError("A release is announced in advance: schedule it in the future.")
    release = Release(
        title=title, scheduled_for=scheduled_for, announced_at=now, created_by=user, note=note
    )
    release.full_clean()
    release.save()
    return release


@transaction.atomic
def release_publish(*, release: Release, user: User | None, now: datetime | None = None) -> int:
    """Publish at (or after) the announced time: approved values only; returns how many.

    The published assessments are recomputed in the same transaction, so the public never
    reads a release without its figures.
    """
    now = now or timezone.now()
    release = Release.objects.select_for_update().get(pk=release.pk)
    if release.published_at is not None:
        return 0
    if now < release.scheduled_for:
        raise ValidationError("The release is not due yet: publish at the announced time.")
    if user is not None:
        _require(user, Action.MANAGE_RELEASES, MANAGERS_ONLY)
    published = unreleased_approved().update(release=release, published_at=now)
    release.published_at = now
    release.published_by = user
    release.save(update_fields=["published_at", "published_by"])
    published_assessments_compute(release=release)
    audit(action=AuditEvent.Action.RELEASE, actor=user, release=release, values=published)
    return published


def releases_publish_due(*, now: datetime | None = None) -> int:
    """Publish every release whose announced time has come (run by beat)."""
    now = now or timezone.now()
    due = Release.objects.filter(published_at__isnull=True, scheduled_for__lte=now)
    return sum(release_publish(release=r, user=None, now=now) for r in due)


def pre_release_figures(*, user: User, purpose: str) -> QuerySet[Observation]:
    """Approved, unpublished figures for named roles; every access is recorded."""
    _require(user, Action.SEE_PRE_RELEASE, "Only named roles see figures before their release.")
    audit(action=AuditEvent.Action.PRE_RELEASE_ACCESS, actor=user, purpose=purpose)
    return unreleased_approved().select_related(
        "series__kpi", "series__place", "series__breakdown", "period"
    )
