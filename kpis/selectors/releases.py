"""Reads of releases: the calendar, the latest published release, and approved values that
no release has published yet."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import Observation, Release


def release_calendar() -> QuerySet[Release]:
    """Every release, announced or published, newest first."""
    return Release.objects.order_by("-scheduled_for")


def release_latest_published() -> Release | None:
    """The release whose figures the public reads now."""
    return (
        Release.objects.filter(published_at__isnull=False).order_by("-published_at", "-id").first()
    )


def unreleased_approved() -> QuerySet[Observation]:
    """Current, approved values not yet in any release."""
    return Observation.objects.filter(is_current=True, approved=True, published_at__isnull=True)
