"""Reads for the internal KPI and place pages: stored assessments as frames, in one query each.

Which values a viewer reads is decided by the caller from the access table: at places whose
unpublished values the viewer may see, every current value (the internal assessments, each
marked published, approved or not approved); at any other place shown, only what the public
reads now (the published assessments of the series' current release, with public suppression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db.models import F, Prefetch, Q

from strategy.models import Place

from ..dashboards import ASSESSMENT_COLUMNS
from ..models import Assessment, Breakdown, DefinitionVersion, Kpi, Target

ASSESSMENT_FIELDS = {
    "series__kpi_id": "kpi_id",
    "series__place_id": "place_id",
    "series__place__code": "place",
    "series__place__name": "place_name",
    "series__place__kind": "place_kind",
    "series__place__geography_basis": "place_basis",
    "series__place__position": "place_position",
    "series__place__within_set": "within_set",
    "period_id": "period_id",
    "period__label": "label",
    "period__type": "period_type",
    "period__end": "period_end",
    "scope": "scope",
    "value_status": "status",
    "value": "value",
    "numerator": "numerator",
    "denominator": "denominator",
    "lower95": "lower95",
    "upper95": "upper95",
    "public_suppressed": "public_suppressed",
    "baseline_label": "baseline_label",
    "change_category": "change_category",
    "change_reason": "change_reason",
    "benchmark_england": "benchmark_england",
    "spc_mean": "mean",
    "spc_lower_limit": "lower_limit",
    "spc_upper_limit": "upper_limit",
    "spc_point_type": "point_type",
    "spc_reason": "spc_reason",
    "assurance": "assurance",
    "target_kind": "target_kind",
    "target_value": "target_value",
    "planned_value": "planned",
    "verdict": "verdict",
    "verdict_reason": "verdict_reason",
}

#: Columns a publicly suppressed value does not show.
_SUPPRESSED = ["value", "numerator", "denominator", "lower95", "upper95", "mean", "planned"]


def _visible(*, unpublished_place_ids, published_place_ids) -> Q:
    return Q(scope=Assessment.Scope.INTERNAL, series__place_id__in=list(unpublished_place_ids)) | (
        Q(scope=Assessment.Scope.PUBLISHED, series__place_id__in=list(published_place_ids))
        & Q(release_id=F("series__published_release_id"))
    )


def _frame(queryset) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        queryset.values_list(*ASSESSMENT_FIELDS), columns=ASSESSMENT_COLUMNS
    ).astype({"public_suppressed": bool, "within_set": bool})
    published = frame["scope"].eq(Assessment.Scope.PUBLISHED)
    frame.loc[published & frame["public_suppressed"], _SUPPRESSED] = np.nan
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


def dashboard_assessments(
    *,
    kpi_ids,
    unpublished_place_ids,
    published_place_ids=(),
    latest_only=False,
    period_ids=None,
) -> pd.DataFrame:
    """The total (all people) assessments of these KPIs, as the viewer may read them; one
    query. A place in both sets is read unpublished. ``latest_only`` keeps each series' latest
    period; ``period_ids`` only these periods."""
    published_only = set(published_place_ids) - set(unpublished_place_ids)
    queryset = Assessment.objects.filter(
        _visible(unpublished_place_ids=unpublished_place_ids, published_place_ids=published_only),
        series__kpi_id__in=list(kpi_ids),
        series__breakdown__dimension=Breakdown.Dimension.ALL,
    )
    if latest_only:
        queryset = queryset.filter(is_latest=True)
    if period_ids is not None:
        queryset = queryset.filter(period_id__in=list(period_ids))
    return _frame(queryset)


def kpi_heading(*, code: str) -> Kpi:
    """A KPI's code and title only (one query); raises Kpi.DoesNotExist."""
    return Kpi.objects.only("id", "code", "title").get(code=code)


def kpi_for_dashboard(*, code: str) -> Kpi:
    """A KPI with its owner, disclosure rule, targets, definition versions and links; raises
    Kpi.DoesNotExist."""
    return (
        Kpi.objects.select_related("owner", "disclosure_rule")
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.select_related("place")),
            Prefetch("definition_versions", queryset=DefinitionVersion.objects.order_by("version")),
            "outcomes",
            "priorities",
        )
        .get(code=code)
    )


def place_for_dashboard(*, code: str) -> Place:
    """A place by its code; raises Place.DoesNotExist."""
    return Place.objects.get(code=code)


def place_ids(*, codes) -> dict[str, int]:
    """Places' ids by code, for those that exist."""
    return dict(Place.objects.filter(code__in=list(codes)).values_list("code", "id"))


def peer_places(*, kinds_and_bases) -> list[dict]:
    """The SET places of each of these (kind, geography basis) pairs: one query."""
    pairs = Q(pk__in=[])
    for kind, basis in kinds_and_bases:
        pairs |= Q(kind=kind, geography_basis=basis)
    return list(
        Place.objects.filter(pairs, within_set=True).values(
            "id", "code", "name", "kind", "geography_basis"
        )
    )


def dashboard_kpis() -> dict[int, Kpi]:
    """Every KPI by id, with what a row of the place page shows."""
    return {
        kpi.pk: kpi
        for kpi in Kpi.objects.only(
            "code", "title", "unit", "direction", "statistic", "cohort", "geography_basis"
        )
    }


def kpi_places(*, kpi: Kpi) -> list[dict]:
    """The places holding a total series of this KPI, in place order."""
    return list(
        Place.objects.filter(series__kpi=kpi, series__breakdown__dimension=Breakdown.Dimension.ALL)
        .order_by("position", "name")
        .values("id", "code", "name", "kind", "geography_basis", "within_set")
    )
