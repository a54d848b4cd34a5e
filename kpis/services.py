"""Writes for the KPI framework: loading the catalogue and recording observation versions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from strategy.models import (
    Deliverable,
    Organisation,
    Outcome,
    Priority,
    SourceDocument,
    Strategy,
    WhatMatters,
)
from strategy.services import LoadReport, read_yaml, text_or_blank, upsert_by_natural_key

from . import periods
from .models import (
    Breakdown,
    DefinitionVersion,
    DisclosureRule,
    Kpi,
    Observation,
    Period,
    Release,
    Series,
    Target,
)
from .recompute import progress_recompute_enqueue, series_mark_dirty, verdict_rules_ensure_default

CURRENT_STRATEGY = "set-2023-28"


def disclosure_rules_load(*, data: dict, report: LoadReport) -> None:
    """Upsert the publishers' disclosure rules."""
    for row in data["disclosure_rules"]:
        upsert_by_natural_key(
            DisclosureRule,
            {"code": row["code"]},
            {
                "publisher": text_or_blank(row.get("publisher")),
                "description": text_or_blank(row["description"]),
                "min_count": row.get("min_count"),
                "rounding_base": row.get("rounding_base"),
                "round_after_summing": bool(row.get("round_after_summing")),
                "min_respondents": row.get("min_respondents"),
                "min_events_for_rate": row.get("min_events_for_rate"),
                "zero_shown": row.get("zero_shown"),
                "url": text_or_blank(row.get("url")),
            },
        )
    report.add("disclosure_rules", len(data["disclosure_rules"]))


def breakdowns_load(*, data: dict, report: LoadReport) -> None:
    """Upsert the categories of each inequalities dimension."""
    count = 0
    for dimension, rows in data["breakdowns"].items():
        for position, row in enumerate(rows, start=1):
            upsert_by_natural_key(
                Breakdown,
                {"dimension": dimension, "category": str(row["category"])},
                {"label": row["label"], "position": position},
            )
            count += 1
    report.add("breakdowns", count)


def _codes(lookup: dict, codes, what: str, kpi_code: str) -> list:
    unknown = [code for code in codes or [] if code not in lookup]
    if unknown:
        raise ValidationError(f"KPI {kpi_code}: unknown {what} {unknown}")
    return [lookup[code] for code in codes or []]


def kpis_load(*, data: dict, report: LoadReport) -> None:
    """Upsert every KPI with its links, definition versions and targets."""
    strategy = Strategy.objects.get(code=CURRENT_STRATEGY)
    priorities = {p.code: p for p in Priority.objects.filter(strategy=strategy)}
    outcomes = {o.code: o for o in Outcome.objects.filter(strategy=strategy)}
    what_matters = {w.code: w for w in WhatMatters.objects.filter(strategy=strategy)}
    organisations = {o.code: o for o in Organisation.objects.all()}
    rules = {r.code: r for r in DisclosureRule.objects.all()}
    sources = {s.code: s for s in SourceDocument.objects.all()}
    for row in data["kpis"]:
        source = row["source"]
        valid = row.get("valid_range") or {}
        baseline = row["baseline"]
        kpi = upsert_by_natural_key(
            Kpi,
            {"code": row["code"]},
            {
                "title": text_or_blank(row["title"]),
                "description": text_or_blank(row["description"]),
                "cohort": row["cohort"],
                "age_band": text_or_blank(row.get("age_band")),
                "statistic": row["statistic"],
                "numerator": text_or_blank(row.get("numerator")),
                "denominator": text_or_blank(row.get("denominator")),
                "multiplier": Decimal(str(row.get("multiplier") or 1)),
                "unit": text_or_blank(row["unit"]),
                "direction": row["direction"],
                "time_structure": row["time_structure"],
                "frequency": row["frequency"],
                "period_type": row["period_type"],
                "publication_lag_days": row.get("publication_lag_days"),
                "geography_basis": row["geography_basis"],
                "lowest_level": row["lowest_level"],
                "combinability": row["combinability"],
                "owner": organisations.get(row.get("owner")),
                "lived_experience": bool(row.get("lived_experience")),
                "locally_supplied": bool(row.get("locally_supplied")),
                "breakdowns": row.get("breakdowns") or [],
                "valid_min": valid.get("min"),
                "valid_max": valid.get("max"),
                "disclosure_rule": rules[row["disclosure_rule"]],
                "source_publisher": text_or_blank(source.get("publisher")),
                "source_dataset": text_or_blank(source.get("dataset")),
                "source_indicator_id": text_or_blank(source.get("indicator_id")),
                "source_url": text_or_blank(source.get("url")),
                "source_note": text_or_blank(source.get("note")),
                "baseline_rule": baseline["rule"],
                "baseline_period_label": text_or_blank(baseline.get("period_label")),
                "baseline_note": text_or_blank(baseline.get("note")),
            },
        )
        kpi.priorities.set(_codes(priorities, row.get("priorities"), "priorities", kpi.code))
        kpi.outcomes.set(_codes(outcomes, row.get("outcomes"), "outcomes", kpi.code))
        kpi.what_matters.set(_codes(what_matters, row.get("what_matters"), "statements", kpi.code))
        _definition_versions_replace(kpi, row.get("definition_versions") or [])
        _targets_replace(kpi, row.get("targets") or [], sources)
    report.add("kpis", len(data["kpis"]))


def _definition_versions_replace(kpi: Kpi, rows: list[dict]) -> None:
    kept = []
    for row in rows:
        version = upsert_by_natural_key(
            DefinitionVersion,
            {"kpi": kpi, "version": row["version"]},
            {
                "applies_from": row.get("applies_from"),
                "series_break": bool(row.get("series_break")),
                "note": text_or_blank(row.get("note")),
            },
        )
        kept.append(version.pk)
    DefinitionVersion.objects.filter(kpi=kpi).exclude(pk__in=kept).delete()


def _targets_replace(kpi: Kpi, rows: list[dict], sources: dict) -> None:
    # Targets have no natural key of their own in the catalogue: the catalogue's list is the
    # truth, so it replaces the KPI's targets whole (targets carry no history of their own).
    Target.objects.filter(kpi=kpi).delete()
    for row in rows:
        target = Target(
            kpi=kpi,
            kind=row["kind"],
            value=None if row.get("value") is None else Decimal(str(row["value"])),
            comparator=text_or_blank(row.get("comparator")),
            applies_from=row.get("applies_from"),
            due=row.get("due"),
            set_by=text_or_blank(row["set_by"]),
            source_document=sources.get(row.get("source_document")),
            url=text_or_blank(row.get("url")),
            note=text_or_blank(row.get("note")),
        )
        target.full_clean()
        target.save()


def priority_deliverables_load(*, data: dict, report: LoadReport) -> None:
    """Deliverables tracking priorities (or statements) that no sourced number fits."""
    strategy = Strategy.objects.get(code=CURRENT_STRATEGY)
    priorities = {p.code: p for p in Priority.objects.filter(strategy=strategy)}
    what_matters = {w.code: w for w in WhatMatters.objects.filter(strategy=strategy)}
    organisations = {o.code: o for o in Organisation.objects.all()}
    rows = data.get("priority_deliverables") or []
    for row in rows:
        deliverable = upsert_by_natural_key(
            Deliverable,
            {"code": row["code"]},
            {
                "source": strategy.source,
                "strategy": strategy,
                "owner": organisations.get(row.get("owner")),
                "section": "Outcomes framework: tracked deliverable",
                "title": text_or_blank(row["title"]),
                "note": text_or_blank(row.get("note")),
            },
        )
        deliverable.priorities.set(
            _codes(priorities, row.get("priorities"), "priorities", row["code"])
        )
        deliverable.what_matters.set(
            _codes(what_matters, row.get("what_matters"), "statements", row["code"])
        )
    report.add("priority_deliverables", len(rows))


@transaction.atomic
def catalogue_load(*, directory: Path) -> LoadReport:
    """Load disclosure rules, breakdowns, the KPI catalogue and its deliverables; idempotent."""
    report = LoadReport()
    disclosure_rules_load(data=read_yaml(directory / "disclosure_rules.yaml"), report=report)
    breakdowns_load(data=read_yaml(directory / "breakdowns.yaml"), report=report)
    catalogue = read_yaml(directory / "catalogue.yaml")
    kpis_load(data=catalogue, report=report)
    priority_deliverables_load(data=catalogue, report=report)
    verdict_rules_ensure_default(path=directory / "verdict_rules.yaml")
    # Definitions or targets may have changed: every stored assessment is recomputed.
    series_mark_dirty()
    progress_recompute_enqueue()
    return report


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
    from .models import Breakdown

    breakdown = breakdown or Breakdown.objects.get(dimension="all", category="all")
    series, _ = Series.objects.get_or_create(kpi=kpi, place=place, breakdown=breakdown)
    return series


def _demo_inputs():
    from strategy.models import Place, PlaceMembership

    from .demo import KpiInfo, PlaceInfo

    areas: dict[int, set[str]] = {}
    for place_id, gss in PlaceMembership.objects.values_list("place_id", "area__gss_code"):
        areas.setdefault(place_id, set()).add(gss)
    places = [
        PlaceInfo(
            code=p.code,
            kind=p.kind,
            basis=p.geography_basis,
            areas=frozenset(areas.get(p.pk, ())),
            valid_from=p.valid_from,
            valid_to=p.valid_to,
        )
        for p in Place.objects.all()
    ]
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
    import pandas as pd

    from .demo import demo_frame

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
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    import numpy as np

    from strategy.models import Place

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
    _demo_revision()
    progress_recompute_enqueue()
    return len(observations)


def decimal_6dp(value) -> Decimal | None:
    """A number as the database stores it (6 decimal places); missing stays None."""
    return None if value is None or value != value else Decimal(str(round(float(value), 6)))


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
