"""Reads for the KPI framework."""

from __future__ import annotations

import pandas as pd
from django.db.models import QuerySet

from .models import Observation, Period, Series

OBSERVATION_COLUMNS = (
    "series_id",
    "series__kpi__code",
    "series__place__code",
    "series__breakdown__dimension",
    "series__breakdown__category",
    "period__label",
    "period__type",
    "period__start",
    "period__end",
    "numerator",
    "denominator",
    "value",
    "suppressed",
    "rounded",
    "synthetic",
)


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


def observations_frame(*, series_ids=None, kpi_codes=None) -> pd.DataFrame:
    """Current observations as a DataFrame, from one query."""
    queryset = Observation.objects.filter(is_current=True)
    if series_ids is not None:
        queryset = queryset.filter(series_id__in=series_ids)
    if kpi_codes is not None:
        queryset = queryset.filter(series__kpi__code__in=kpi_codes)
    frame = pd.DataFrame.from_records(
        queryset.values_list(*OBSERVATION_COLUMNS), columns=list(OBSERVATION_COLUMNS)
    )
    rename = {name: name.split("__")[-1] for name in OBSERVATION_COLUMNS if "__" in name}
    rename.update(
        {
            "series__kpi__code": "kpi",
            "series__place__code": "place",
            "period__label": "label",
            "period__type": "period_type",
            "period__start": "period_start",
            "period__end": "period_end",
            "series_id": "series",
        }
    )
    frame = frame.rename(columns=rename)
    for column in ("numerator", "denominator", "value"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column])
    return frame
