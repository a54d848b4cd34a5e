"""Reads of releases: the calendar, the latest published release, and approved values that
no release has published yet."""

from __future__ import annotations

import pandas as pd
from django.db.models import Count, Q, QuerySet

from ..models import NationalPublication, Observation, Release, ReleaseAccess, ReturnUpload


def release_calendar() -> QuerySet[Release]:
    """Every release, announced or published, newest first, with what a correction corrects."""
    return Release.objects.select_related("corrects").order_by("-scheduled_for")


def release_latest_published() -> Release | None:
    """The release whose figures the public reads now."""
    return (
        Release.objects.filter(published_at__isnull=False).order_by("-published_at", "-id").first()
    )


def unreleased_approved() -> QuerySet[Observation]:
    """Current, approved values not yet in any release."""
    return Observation.objects.filter(is_current=True, approved=True, published_at__isnull=True)


def release_contents(release: Release) -> QuerySet[Observation]:
    """The approved, unpublished values a release will publish: those of its chosen returns,
    KPIs and publications and those approved by its cut-off; everything approved if it chose
    none of these."""
    chosen = Q()
    uploads = release.uploads.values("id")
    kpis = release.kpis.values("id")
    publications = release.publications.values("id")
    if release.uploads.exists():
        chosen |= Q(source_upload__in=uploads)
    if release.kpis.exists():
        chosen |= Q(series__kpi__in=kpis)
    if release.publications.exists():
        chosen |= Q(source_publication__in=publications)
    if release.approved_up_to is not None:
        chosen |= Q(recorded_at__lte=release.approved_up_to)
    return unreleased_approved().filter(chosen)


def release_contents_summary(release: Release) -> pd.DataFrame:
    """How many values the release would publish now, by KPI and place (one query)."""
    rows = (
        release_contents(release)
        .values("series__kpi__code", "series__kpi__title", "series__place__name")
        .annotate(values=Count("id"))
        .order_by("series__kpi__code", "series__place__name")
    )
    return pd.DataFrame.from_records(
        rows, columns=["series__kpi__code", "series__kpi__title", "series__place__name", "values"]
    ).rename(
        columns={
            "series__kpi__code": "kpi_code",
            "series__kpi__title": "kpi_title",
            "series__place__name": "place",
        }
    )


def release_detail_get(pk: int) -> Release:
    """A release with what it was built from and who has pre-release access (fixed queries)."""
    return (
        Release.objects.select_related("corrects", "created_by", "published_by")
        .prefetch_related(
            "kpis",
            "publications",
            "uploads",
            "accesses__user",
        )
        .get(pk=pk)
    )


def release_choices() -> dict[str, QuerySet]:
    """What a new release can be made of: approved returns and national publications that
    still hold unpublished values, and published releases a correction can correct."""
    pending = unreleased_approved()
    return {
        "uploads": ReturnUpload.objects.filter(
            state=ReturnUpload.State.APPROVED,
            id__in=pending.filter(source_upload__isnull=False).values("source_upload"),
        ).order_by("-uploaded_at"),
        "publications": NationalPublication.objects.filter(
            id__in=pending.filter(source_publication__isnull=False).values("source_publication")
        ).order_by("-imported_at"),
        "published": Release.objects.filter(published_at__isnull=False).order_by("-published_at"),
    }


def release_access_for(release: Release, user) -> ReleaseAccess | None:
    return ReleaseAccess.objects.filter(release=release, user=user).first()
