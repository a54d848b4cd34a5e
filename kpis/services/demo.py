"""The demo: synthetic series (``kpis.synthetic``) written once, with a release of the older
values and one revision after publishing, and return periods opened for the demo place lead."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from strategy.models import Place, User

from .. import periods
from ..models import (
    Breakdown,
    DefinitionVersion,
    Kpi,
    Observation,
    Period,
    Release,
    ReportingExpectation,
    Series,
    Target,
)
from ..numbers import decimal_6dp
from ..selectors.places import place_infos
from ..synthetic import KpiInfo, demo_frame
from .calendar import expectation_reopen, expectations_generate_recent
from .enqueue import progress_recompute_enqueue
from .observations import ObservationValues, observation_record
from .progress import published_assessments_compute


def _demo_inputs():
    places = place_infos()
    breaks = {}
    for code, applies_from in DefinitionVersion.objects.filter(
        series_break=True, applies_from__isnull=False
    ).values_list("kpi__code", "applies_from"):
        breaks[code] = max(breaks.get(code, applies_from), applies_from)
    targets = dict(
        Target.objects.filter(
            kind__in=["threshold", "value_by_date"], value__isnull=False
        ).values_list("kpi__code", "value")
    )
    eliminate = set(Target.objects.filter(value=0).values_list("kpi__code", flat=True))
    kpis = []
    for kpi in Kpi.objects.all():
        target = targets.get(kpi.code)
        extra = {}
        if kpi.code in eliminate:
            extra["flat_monthly_count"] = 0.03  # an "eliminate" target: many true zeros
        kpis.append(
            KpiInfo(
                code=kpi.code,
                statistic=kpi.statistic,
                multiplier=float(kpi.multiplier),
                time_structure=kpi.time_structure,
                period_type=kpi.period_type,
                basis=kpi.geography_basis,
                lowest_level=kpi.lowest_level,
                combinability=kpi.combinability,
                locally_supplied=kpi.locally_supplied,
                target=None if target is None else float(target),
                break_from=breaks.get(kpi.code),
                valid_max=None if kpi.valid_max is None else float(kpi.valid_max),
                extra=extra,
            )
        )
    return places, kpis


@transaction.atomic
def demo_data_load(*, as_of, seed: int = 2023) -> int:
    """Write the synthetic demo series once; returns how many observations it wrote."""
    if Observation.objects.filter(synthetic=True).exists():
        return 0
    places, kpis = _demo_inputs()
    frames = []
    for info in kpis:
        frame = demo_frame(info, places, as_of=as_of, seed=seed)
        frames.append(frame.assign(kpi=info.code))
    data = pd.concat(frames, ignore_index=True)
    return _demo_write(data, as_of=as_of)


DEMO_REVISION_REASON = "Demo: a correction made after publication"


def _demo_write(data, *, as_of) -> int:
    """Bulk-write demo observations, publish the older ones, and revise one after publishing."""
    labels = list(data["label"].unique())
    specs = {label: periods.parse_period(label) for label in labels}
    Period.objects.bulk_create(
        [Period(type=s.type, start=s.start, end=s.end, label=s.label) for s in specs.values()],
        ignore_conflicts=True,
    )
    period_ids = dict(Period.objects.filter(label__in=labels).values_list("label", "id"))
    total = Breakdown.objects.get(dimension="all", category="all")
    kpi_ids = dict(Kpi.objects.values_list("code", "id"))
    place_ids = dict(Place.objects.values_list("code", "id"))
    pairs = data[["kpi", "place"]].drop_duplicates().itertuples(index=False)
    Series.objects.bulk_create(
        [Series(kpi_id=kpi_ids[k], place_id=place_ids[p], breakdown=total) for k, p in pairs],
        ignore_conflicts=True,
    )
    series_ids = {
        (kpi, place): pk
        for pk, kpi, place in Series.objects.filter(breakdown=total).values_list(
            "id", "kpi__code", "place__code"
        )
    }
    london = ZoneInfo("Europe/London")
    release = datetime.combine(as_of, time(9, 30), tzinfo=london)
    cutoff = as_of - timedelta(days=90)
    data = data.replace({np.nan: None})
    now = timezone.now()
    demo_release = Release.objects.create(
        title="Demo release (synthetic figures)",
        scheduled_for=release,
        announced_at=release - timedelta(days=28),
        published_at=release,
        note="Synthetic demonstration data, not real figures.",
    )
    observations = [
        Observation(
            series_id=series_ids[(row.kpi, row.place)],
            period_id=period_ids[row.label],
            numerator=decimal_6dp(row.numerator),
            denominator=decimal_6dp(row.denominator),
            value=decimal_6dp(row.value),
            synthetic=True,
            approved=True,
            recorded_at=now,
            published_at=release if specs[row.label].end <= cutoff else None,
            release=demo_release if specs[row.label].end <= cutoff else None,
        )
        for row in data.itertuples(index=False)
    ]
    Observation.objects.bulk_create(observations, batch_size=5000)
    published_assessments_compute(release=demo_release)
    _demo_revision()
    progress_recompute_enqueue()
    return len(observations)


def _demo_revision() -> None:
    """Correct one published proportion, so the demo shows a revised value."""
    published = (
        Observation.objects.filter(
            synthetic=True,
            published_at__isnull=False,
            series__kpi__statistic="proportion",
            series__place__kind="council",
            numerator__gt=0,
        )
        .select_related("series__kpi", "period")
        .order_by("period__end", "series_id")
        .first()
    )
    if published is None:
        return
    numerator = published.numerator - 1
    observation_record(
        series=published.series,
        period=published.period,
        values=ObservationValues(
            numerator=numerator,
            denominator=published.denominator,
            value=decimal_6dp(numerator / published.denominator * published.series.kpi.multiplier),
        ),
        change_reason=DEMO_REVISION_REASON,
        synthetic=True,
        approved=True,
    )


def demo_returns_open(*, today: date | None = None) -> str:
    """For the demo: expect the latest periods and keep them open for the next 90 days."""
    today = today or timezone.localdate()
    expectations_generate_recent(today=today)
    until = today + timedelta(days=90)
    admin = User.objects.filter(username="admin").first()
    labels = set()
    for expectation in ReportingExpectation.objects.select_related("kpi", "place", "period"):
        if expectation.locks_on < today and (
            expectation.reopened_until is None or expectation.reopened_until < today
        ):
            expectation_reopen(expectation=expectation, user=admin, until=until)
        labels.add(expectation.period.label)
    return ", ".join(sorted(labels)) or "none"
