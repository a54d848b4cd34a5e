"""Releases: approved values become public only in a dated release announced in advance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from strategy.access import Action, user_can
from strategy.models import User

from ..models import (
    AuditEvent,
    Kpi,
    NationalPublication,
    Observation,
    Release,
    ReleaseAccess,
    ReturnUpload,
)
from ..selectors.releases import release_contents, unreleased_approved
from .audit import audit
from .progress import published_assessments_compute

MANAGERS_ONLY = "Only the Strategy Implementation Group manages releases."


def _require(user: User, action: Action, why: str) -> None:
    if not user_can(user, action):
        raise PermissionDenied(why)


@dataclass(frozen=True)
class ReleaseContents:
    """What a release is to contain; all empty means everything approved at publication."""

    uploads: Sequence[ReturnUpload] = ()
    kpis: Sequence[Kpi] = ()
    publications: Sequence[NationalPublication] = ()
    approved_up_to: datetime | None = None


@transaction.atomic
def release_schedule(
    *,
    title: str,
    scheduled_for: datetime,
    user: User,
    note: str = "",
    contents: ReleaseContents | None = None,
    pre_release: Sequence[User] = (),
    corrects: Release | None = None,
    correction_note: str = "",
) -> Release:
    """Announce a release in the calendar; it must be announced before it happens.

    A correction names the published release it corrects and says what it corrects. The
    people given pre-release access are recorded with who granted it and when.
    """
    _require(user, Action.MANAGE_RELEASES, MANAGERS_ONLY)
    contents = contents or ReleaseContents()
    now = timezone.now()
    if scheduled_for <= now:
        raise ValidationError("A release is announced in advance: schedule it in the future.")
    if corrects is not None and corrects.published_at is None:
        raise ValidationError("A correction corrects a release that has been published.")
    if corrects is not None and not correction_note.strip():
        raise ValidationError("Say what the correction corrects: the public reads it.")
    unapproved = [u for u in contents.uploads if u.state != ReturnUpload.State.APPROVED]
    if unapproved:
        raise ValidationError(
            f"Only approved returns can be released; {unapproved[0].original_name} is "
            f"{unapproved[0].get_state_display().lower()}."
        )
    release = Release(
        title=title,
        scheduled_for=scheduled_for,
        announced_at=now,
        created_by=user,
        note=note,
        kind=Release.Kind.CORRECTION if corrects is not None else Release.Kind.REGULAR,
        corrects=corrects,
        correction_note=correction_note.strip(),
        approved_up_to=contents.approved_up_to,
    )
    release.full_clean()
    release.save()
    release.uploads.set(contents.uploads)
    release.kpis.set(contents.kpis)
    release.publications.set(contents.publications)
    ReleaseAccess.objects.bulk_create(
        [
            ReleaseAccess(release=release, user=person, granted_by=user, granted_at=now)
            for person in {p.pk: p for p in pre_release}.values()
        ]
    )
    audit(
        action=AuditEvent.Action.RELEASE_SCHEDULED,
        actor=user,
        release=release,
        pre_release=sorted(p.get_username() for p in pre_release),
    )
    return release


def release_pre_release_view(*, release: Release, user: User) -> QuerySet[Observation]:
    """The figures of a release before it publishes, for the people named for it (and those
    whose role gives pre-release access); every view is recorded with its time."""
    if release.published_at is not None:
        raise ValidationError("This release has been published: its figures are public.")
    access = ReleaseAccess.objects.filter(release=release, user=user).first()
    if access is None:
        _require(user, Action.SEE_PRE_RELEASE, "Only people named for this release see it early.")
    now = timezone.now()
    if access is not None:
        ReleaseAccess.objects.filter(pk=access.pk, first_seen_at__isnull=True).update(
            first_seen_at=now
        )
        ReleaseAccess.objects.filter(pk=access.pk).update(last_seen_at=now)
    audit(action=AuditEvent.Action.PRE_RELEASE_ACCESS, actor=user, release=release)
    return release_contents(release).select_related(
        "series__kpi", "series__place", "series__breakdown", "period"
    )


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
    published = release_contents(release).update(release=release, published_at=now)
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
