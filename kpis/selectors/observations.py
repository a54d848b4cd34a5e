"""Reads of observation versions: one value's history, its first-published version, and
frames of current (or as-published) values for the assessment engine and pages."""

from __future__ import annotations

import pandas as pd
from django.db.models import QuerySet

from ..models import Observation, Period, Release, Series


def observation_history(*, series: Series, period: Period) -> QuerySet[Observation]:
    """Every version of one value, oldest first, with who recorded it."""
    return (
        Observation.objects.filter(series=series, period=period)
        .select_related("recorded_by")
        .order_by("version")
    )


def observation_first_published(*, series: Series, period: Period) -> Observation | None:
    """The version the public first saw, which stays retrievable after any revision."""
    return (
        Observation.objects.filter(series=series, period=period, published_at__isnull=False)
        .order_by("published_at", "version")
        .first()
    )


def observation_is_revised(*, series: Series, period: Period) -> bool:
    """True when the current value differs from the one first published."""
    first = observation_first_published(series=series, period=period)
    if first is None:
        return False
    return not first.is_current


# Columns of an observations frame, as the assessment engine (``kpis.assessment``) reads them.
OBSERVATION_FIELDS = {
    "series_id": "series",
    "series__kpi__code": "kpi",
    "series__place__code": "place",
    "series__breakdown__dimension": "dimension",
    "series__breakdown__category": "category",
    "series__spc_fix_after_n_points": "fix_after_n_points",
    "period_id": "period",
    "period__label": "label",
    "period__type": "period_type",
    "period__start": "period_start",
    "period__end": "period_end",
    "numerator": "numerator",
    "denominator": "denominator",
    "value": "value",
    "suppressed": "source_suppressed",
    "rounded": "rounded",
    "source_value": "source_value",
    "source_value_differs": "source_value_differs",
    "source_comparison": "source_comparison",
    "ci_lower": "ci_lower",
    "ci_upper": "ci_upper",
    "synthetic": "synthetic",
    "approved": "approved",
    "release_id": "release",
    "version": "version",
}


def observations_frame(
    *, kpi_ids=None, kpi_codes=None, series_ids=None, as_of: Release | None = None
) -> pd.DataFrame:
    """Observations as a DataFrame, from one query: the current versions, or with ``as_of``
    the versions a published release showed (each value's latest version released by then).

    Each row says whether its version is approved and in which release it was published
    (``release``, missing while unpublished).
    """
    if as_of is None:
        queryset = Observation.objects.filter(is_current=True)
    else:
        queryset = Observation.objects.filter(release__published_at__lte=as_of.published_at)
    if kpi_ids is not None:
        queryset = queryset.filter(series__kpi_id__in=list(kpi_ids))
    if kpi_codes is not None:
        queryset = queryset.filter(series__kpi__code__in=list(kpi_codes))
    if series_ids is not None:
        queryset = queryset.filter(series_id__in=list(series_ids))
    frame = pd.DataFrame.from_records(
        queryset.values_list(*OBSERVATION_FIELDS), columns=list(OBSERVATION_FIELDS.values())
    )
    if as_of is not None:
        # Versions released later than one another: the latest of each value is what showed.
        frame = frame.sort_values("version").drop_duplicates(["series", "period"], keep="last")
        frame = frame.sort_values(["series", "period"], ignore_index=True)
    for column in ("numerator", "denominator", "value", "source_value", "ci_lower", "ci_upper"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    frame["fix_after_n_points"] = frame["fix_after_n_points"].astype(float)
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("source_suppressed", "rounded", "source_value_differs", "synthetic", "approved"):
        frame[column] = frame[column].astype(bool)
    return frame
