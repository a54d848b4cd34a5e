"""Reads for the public side: only figures a release has published, by construction.

Every read here starts from ``Assessment.published``, a manager that returns assessments of
published scope from published releases only; nothing in this module touches observations,
staged rows or internal assessments, so no unpublished value can reach a public page, download
or anonymous API call through it.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from ..models import Assessment, Release
from .releases import release_latest_published


def published_assessments(*, as_of: Release | None = None) -> QuerySet[Assessment]:
    """The published assessments the public reads: now, or as release ``as_of`` left them.

    Each series is read from the latest release up to then that recomputed it, so a release
    that touched only some KPIs leaves the others as the previous release published them.
    """
    rows = Assessment.published.select_related(
        "series__kpi", "series__place", "series__breakdown", "period", "release"
    )
    if as_of is None:
        return rows.filter(release_id=F("series__published_release_id"))
    # When the release published, as the database says (never a stale or unsaved object's).
    cutoff = Subquery(
        Release.objects.filter(pk=as_of.pk, published_at__isnull=False).values("published_at")
    )
    latest_for_series = (
        Assessment.published.filter(
            series_id=OuterRef("series_id"), release__published_at__lte=cutoff
        )
        .order_by("-release__published_at", "-release_id")
        .values("release_id")[:1]
    )
    return rows.filter(release__published_at__lte=cutoff, release_id=Subquery(latest_for_series))


def baseline_withheld() -> Exists:
    """For an assessment: whether its baseline period's own value is publicly suppressed in the
    same release and scope, so that value must not be given away as this one's baseline."""
    return Exists(
        Assessment.objects.filter(
            series_id=OuterRef("series_id"),
            scope=OuterRef("scope"),
            release_id=OuterRef("release_id"),
            period__label=OuterRef("baseline_label"),
            public_suppressed=True,
        )
    )


def published_release_get(*, release_id: int | None = None) -> Release | None:
    """A published release by id, or the latest; never one still to be published."""
    if release_id is None:
        return release_latest_published()
    return Release.objects.filter(pk=release_id, published_at__isnull=False).first()


def published_assessment_history(*, as_of: Release, series_ids) -> QuerySet[Assessment]:
    """Every published assessment of these series by every release up to ``as_of``: each
    value as each release showed it, for its vintages. None for a release not published."""
    cutoff = Subquery(
        Release.objects.filter(pk=as_of.pk, published_at__isnull=False).values("published_at")
    )
    return Assessment.published.filter(
        series_id__in=list(series_ids), release__published_at__lte=cutoff
    )
