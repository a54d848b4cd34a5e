"""Observation versions: recording one value, ingesting a frame of values (national imports and
the portable path of returns), and the periods and series they belong to.

A correction adds a version; the database keeps one current version per value, and the
first published version stays retrievable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from strategy.models import User

from .. import periods
from ..bulk.ingest import IngestResult
from ..models import Breakdown, Observation, Period, ReturnUpload, Series
from .enqueue import progress_recompute_enqueue

VALUE_COLUMNS = ["numerator", "denominator", "value", "suppressed", "marker"]
#: What a national publication says about its own figures, compared like the values.
SOURCE_COLUMNS = ["rounded", "source_value", "source_value_differs", "source_comparison"]


def period_get_or_create(spec: periods.PeriodSpec) -> Period:
    """The stored period for a parsed spelling."""
    period, _ = Period.objects.get_or_create(
        type=spec.type, start=spec.start, end=spec.end, defaults={"label": spec.label}
    )
    return period


@dataclass(frozen=True)
class ObservationValues:
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    suppressed: bool = False
    rounded: bool = False
    marker: str = ""
    note: str = ""


VALUE_FIELDS = ("numerator", "denominator", "value", "suppressed", "rounded", "marker", "note")


@transaction.atomic
def observation_record(
    *,
    series: Series,
    period: Period,
    values: ObservationValues,
    recorded_by=None,
    change_reason: str = "",
    synthetic: bool = False,
    approved: bool = False,
) -> Observation | None:
    """Record a value as a new version; an unchanged value records nothing.

    The previous current version stays in the history; a published value keeps its
    first-published version, so the revision is visible.
    """
    Series.objects.select_for_update().filter(pk=series.pk).first()
    current = Observation.objects.filter(series=series, period=period, is_current=True).first()
    if current is not None and all(
        getattr(current, name) == getattr(values, name) for name in VALUE_FIELDS
    ):
        return None
    last_version = (
        Observation.objects.filter(series=series, period=period).aggregate(v=Max("version"))["v"]
        or 0
    )
    if current is not None:
        Observation.objects.filter(pk=current.pk).update(is_current=False)
    observation = Observation(
        series=series,
        period=period,
        version=last_version + 1,
        is_current=True,
        recorded_at=timezone.now(),
        recorded_by=recorded_by,
        change_reason=change_reason,
        synthetic=synthetic,
        approved=approved,
        **{name: getattr(values, name) for name in VALUE_FIELDS},
    )
    observation.full_clean(validate_constraints=False)
    observation.save()
    Series.objects.filter(pk=series.pk).update(needs_recompute=True)
    progress_recompute_enqueue()
    return observation


def observations_publish(*, observation_ids: list[int], published_at) -> int:
    """Stamp versions as published; a version keeps the time it was first published."""
    return Observation.objects.filter(pk__in=observation_ids, published_at__isnull=True).update(
        published_at=published_at
    )


def series_get_or_create(*, kpi, place, breakdown=None) -> Series:
    breakdown = breakdown or Breakdown.objects.get(dimension="all", category="all")
    series, _ = Series.objects.get_or_create(kpi=kpi, place=place, breakdown=breakdown)
    return series


OPTIONAL_COLUMNS = {
    "rounded": False,
    "source_value": None,
    "source_value_differs": False,
    "source_comparison": "",
    "note": "",
    "source_row": None,
    "ci_lower": None,
    "ci_upper": None,
    "ci_level": None,
    "ci_method": "",
}


def observations_ingest(
    frame: pd.DataFrame,
    *,
    recorded_by: User | None,
    change_reason: str,
    source_upload: ReturnUpload | None = None,
    source_publication=None,
) -> IngestResult:
    """Add a new current version for every value that changed; unchanged values are skipped.

    ``frame`` has series_id, period_id, the value columns and optionally note, source_row and
    a published interval. Call inside a transaction.

    1. Lock every series touched (in id order, so concurrent ingests queue rather than
       deadlock); the partial unique index guarantees one current version whatever happens.
    2. Compare with the current versions in pandas: unchanged values are skipped.
    3. Retire the changed current versions and insert the new ones, each tracing back to its
       file (and row); mark the series whose values changed for recomputation.
    """
    if frame.empty:
        return IngestResult(0, 0)
    frame = frame.assign(**{k: v for k, v in OPTIONAL_COLUMNS.items() if k not in frame})
    series_ids = sorted(frame["series_id"].unique().tolist())
    list(Series.objects.select_for_update().filter(id__in=series_ids).order_by("id"))
    current = pd.DataFrame.from_records(
        Observation.objects.filter(is_current=True, series_id__in=series_ids)
        .filter(period_id__in=frame["period_id"].unique().tolist())
        .values("id", "series_id", "period_id", *VALUE_COLUMNS, *SOURCE_COLUMNS),
        columns=["id", "series_id", "period_id", *VALUE_COLUMNS, *SOURCE_COLUMNS],
    )
    merged = frame.merge(
        current, on=["series_id", "period_id"], how="left", suffixes=("", "_current")
    )
    changed = merged["id"].isna()
    for column in (*VALUE_COLUMNS, *SOURCE_COLUMNS):
        new, old = merged[column], merged[f"{column}_current"]
        changed |= ~((new == old) | (new.isna() & old.isna()))
    merged = merged[changed]
    if merged.empty:
        return IngestResult(0, 0)
    retired = merged["id"].dropna().astype(int).tolist()
    history = _last_versions(series_ids)
    Observation.objects.filter(id__in=retired).update(is_current=False)
    now = timezone.now()
    merged = merged.astype(object).where(pd.notna(merged), None)
    Observation.objects.bulk_create(
        [
            Observation(
                series_id=r.series_id,
                period_id=r.period_id,
                version=history.get((r.series_id, r.period_id), 0) + 1,
                is_current=True,
                numerator=r.numerator,
                denominator=r.denominator,
                value=r.value,
                suppressed=bool(r.suppressed),
                rounded=bool(r.rounded),
                source_value=r.source_value,
                source_value_differs=bool(r.source_value_differs),
                source_comparison=r.source_comparison or "",
                marker=r.marker or "",
                note=r.note or "",
                ci_lower=r.ci_lower,
                ci_upper=r.ci_upper,
                ci_level=r.ci_level,
                ci_method=r.ci_method or "",
                approved=True,
                recorded_at=now,
                recorded_by=recorded_by,
                change_reason=change_reason,
                source_upload=source_upload,
                source_row=r.source_row,
                source_publication=source_publication,
            )
            for r in merged.itertuples(index=False)
        ],
        batch_size=5000,
    )
    Series.objects.filter(id__in=merged["series_id"].unique().tolist()).update(needs_recompute=True)
    progress_recompute_enqueue()
    return IngestResult(len(merged), len(retired))


def _last_versions(series_ids: list[int]) -> dict[tuple[int, int], int]:
    rows = (
        Observation.objects.filter(series_id__in=series_ids)
        .values("series_id", "period_id")
        .annotate(last=Max("version"))
    )
    return {(r["series_id"], r["period_id"]): r["last"] for r in rows}
