"""Reads for the public outcome pages: published figures only, through ``published_assessments``.

A publicly suppressed figure leaves the frame blank, with everything derived from it (counts,
interval, change and comparisons): only its reason stays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..disclosure import COUNT_STATISTICS, round_to_base
from ..models import Breakdown, Kpi, Release
from .dashboards import ASSESSMENT_FIELDS
from .public import baseline_withheld, published_assessments
from .vintages import disclosed_figures

PUBLIC_FIELDS = {
    **ASSESSMENT_FIELDS,
    "series_id": "series",
    "baseline_value": "baseline_value",
    "suppression_reason": "suppression_reason",
    "release__title": "release_title",
    "release__published_at": "release_published_at",
    "series__kpi__statistic": "statistic",
    "series__kpi__disclosure_rule__rounding_base": "rounding_base",
    "baseline_hidden": "baseline_hidden",
}
PUBLIC_COLUMNS = list(PUBLIC_FIELDS.values())

#: Everything a suppressed figure would give away.
_DERIVED = [
    "value",
    "numerator",
    "denominator",
    "lower95",
    "upper95",
    "mean",
    "lower_limit",
    "upper_limit",
    "planned",
]
_DERIVED_WORDS = ["change_category", "benchmark_england", "point_type"]


def published_frame(
    *, kpi_ids=None, place_ids=None, latest_only=False, as_of: Release | None = None
) -> pd.DataFrame:
    """The published total (all people) assessments the public reads now, or as release
    ``as_of`` left them: one query."""
    rows = (
        published_assessments(as_of=as_of)
        .filter(series__breakdown__dimension=Breakdown.Dimension.ALL)
        .annotate(baseline_hidden=baseline_withheld())
    )
    if kpi_ids is not None:
        rows = rows.filter(series__kpi_id__in=list(kpi_ids))
    if place_ids is not None:
        rows = rows.filter(series__place_id__in=list(place_ids))
    if latest_only:
        rows = rows.filter(is_latest=True)
    frame = pd.DataFrame.from_records(
        rows.values_list(*PUBLIC_FIELDS), columns=PUBLIC_COLUMNS
    ).astype({"public_suppressed": bool, "within_set": bool, "baseline_hidden": bool})
    # The source's rounding, exactly as the downloads apply it (kpis.selectors.vintages).
    frame = disclosed_figures(frame.assign(suppressed=frame["public_suppressed"]))
    # The baseline a sentence quotes is a shown count too.
    base = pd.to_numeric(frame["rounding_base"]).astype(float)
    counts = base.gt(0) & frame["statistic"].isin(COUNT_STATISTICS)
    baseline = pd.to_numeric(frame["baseline_value"]).astype(float)
    frame["baseline_value"] = baseline.where(~counts, round_to_base(baseline, base))
    # A baseline whose own value is withheld is not given away as a later figure's baseline,
    # nor is the change since it.
    withheld = frame["baseline_hidden"]
    frame.loc[withheld, "baseline_value"] = np.nan
    frame.loc[withheld, "change_category"] = ""
    hidden = frame["public_suppressed"]
    frame.loc[hidden, _DERIVED] = np.nan
    frame.loc[hidden, _DERIVED_WORDS] = ""
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


def public_kpis(*, codes=None) -> dict[int, Kpi]:
    """KPIs by id with what a public page shows beside their figures: one query."""
    kpis = Kpi.objects.only(
        "code",
        "title",
        "description",
        "unit",
        "direction",
        "statistic",
        "cohort",
        "geography_basis",
        "period_type",
        "baseline_period_label",
        "lived_experience",
    )
    if codes is not None:
        kpis = kpis.filter(code__in=list(codes))
    return {kpi.pk: kpi for kpi in kpis.order_by("code")}


def published_releases() -> list[Release]:
    """Every published release, newest first: each stays browsable."""
    return list(Release.objects.filter(published_at__isnull=False).order_by("-published_at", "-id"))
