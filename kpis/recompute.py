"""The progress engine: recompute stored assessments for series marked as needing it.

Writers mark series dirty (new or corrected observations, changed definitions, targets or
verdict rules); a Celery task claims a bounded batch, recomputes it, and re-enqueues itself
until none remain. Pages and the API only read the stored ``Assessment`` rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from strategy.models import GeographyBasis, Place

from .assessment import Rule, assess
from .disclosure import Rule as DisclosureRuleSpec
from .models import (
    Assessment,
    DefinitionVersion,
    Kpi,
    Observation,
    Series,
    Target,
    VerdictRuleTable,
)

# The SET total on each basis: the place the rest-of-SET benchmark is taken from.
SET_TOTALS = {GeographyBasis.RESIDENT: "set", GeographyBasis.GP_REGISTERED: "set-registered"}
PRIMARY_TARGET_KINDS = ("threshold", "value_by_date", "trajectory")
ASSESSMENT_FIELDS = [
    f.name
    for f in Assessment._meta.get_fields()
    if f.concrete and f.name not in ("id", "series", "period", "rule_table", "computed_at")
]


# Dirty flags -------------------------------------------------------------------------------


def series_mark_dirty(*, kpi_ids=None) -> int:
    """Mark the series of some KPIs (or of all, with None) as needing recomputation."""
    queryset = Series.objects.all()
    if kpi_ids is not None:
        queryset = queryset.filter(kpi_id__in=list(kpi_ids))
    return queryset.update(needs_recompute=True)


def series_claim_dirty(*, limit: int) -> list[int]:
    """Claim up to ``limit`` dirty series, clearing their flags; concurrent workers skip them.

    A writer that marks a series again while it is being recomputed sets the flag anew, so
    the next batch picks it up: nothing is lost between claim and write.
    """
    with transaction.atomic():
        # Ordered by KPI so a batch touches few KPIs (each KPI's data is loaded once).
        queryset = Series.objects.filter(needs_recompute=True).order_by("kpi_id", "id")
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        ids = list(queryset.values_list("id", flat=True)[:limit])
        Series.objects.filter(id__in=ids).update(needs_recompute=False)
    return ids


# Verdict rules -----------------------------------------------------------------------------


def verdict_rules_active() -> VerdictRuleTable:
    table = VerdictRuleTable.objects.filter(is_active=True).first()
    if table is None:
        raise ValidationError("No verdict rule table is active.")
    return table


def _rules(table: VerdictRuleTable) -> list[Rule]:
    return [
        Rule(when=rule.get("when") or {}, verdict=rule["verdict"], reason=rule.get("reason", ""))
        for rule in table.rules
    ]


ASSESSMENT_CONDITIONS = {
    "assessable",
    "assurance",
    "progress_status",
    "spc_point_type",
    "change_direction",
    "change_category",
    "benchmark_worse",
    "benchmark_england",
    "benchmark_rest_of_set",
    "target_kind",
}


@transaction.atomic
def verdict_rules_publish(
    *, rules: list[dict], note: str = "", created_by=None
) -> VerdictRuleTable:
    """Publish a new version of the rule table, make it active and recompute every series."""
    for position, rule in enumerate(rules, start=1):
        unknown = set(rule.get("when") or {}) - ASSESSMENT_CONDITIONS
        if unknown or "verdict" not in rule:
            raise ValidationError(f"Rule {position}: unknown conditions {sorted(unknown)}")
    last = VerdictRuleTable.objects.order_by("-version").first()
    VerdictRuleTable.objects.filter(is_active=True).update(is_active=False)
    table = VerdictRuleTable.objects.create(
        version=(last.version + 1) if last else 1,
        rules=rules,
        note=note,
        is_active=True,
        created_by=created_by,
    )
    series_mark_dirty()
    return table


def verdict_rules_ensure_default(*, path: Path) -> VerdictRuleTable:
    """Install the shipped default rules when no table exists yet."""
    existing = VerdictRuleTable.objects.filter(is_active=True).first()
    if existing is not None:
        return existing
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return verdict_rules_publish(rules=data["rules"], note=data.get("note", ""))


# Frames from the database ------------------------------------------------------------------


def _kpi_frame(kpi_ids) -> pd.DataFrame:
    kpis = Kpi.objects.filter(id__in=kpi_ids).select_related("disclosure_rule")
    breaks: dict[int, list] = {}
    for kpi_id, applies_from in DefinitionVersion.objects.filter(
        kpi_id__in=kpi_ids, series_break=True, applies_from__isnull=False
    ).values_list("kpi_id", "applies_from"):
        breaks.setdefault(kpi_id, []).append(applies_from)
    targets: dict[int, Target] = {}
    for target in Target.objects.filter(
        kpi_id__in=kpi_ids, kind__in=PRIMARY_TARGET_KINDS, place__isnull=True, value__isnull=False
    ).order_by("kind", "-applies_from"):
        targets.setdefault(target.kpi_id, target)
    rows = []
    for kpi in kpis:
        target = targets.get(kpi.pk)
        rows.append(
            {
                "code": kpi.code,
                "statistic": kpi.statistic,
                "multiplier": float(kpi.multiplier),
                "direction": kpi.direction,
                "time_structure": kpi.time_structure,
                "baseline_rule": kpi.baseline_rule,
                "baseline_label": kpi.baseline_period_label,
                "breaks": breaks.get(kpi.pk, []),
                "target_kind": target.kind if target else None,
                "target_value": float(target.value) if target else np.nan,
                "target_applies_from": target.applies_from if target else None,
                "target_due": target.due if target else None,
                "lag_days": kpi.publication_lag_days,
                "rule": DisclosureRuleSpec.from_model(kpi.disclosure_rule),
            }
        )
    return pd.DataFrame.from_records(rows).set_index("code")


def _place_frame() -> pd.DataFrame:
    rows = []
    for code, basis, within_set, valid_to in Place.objects.values_list(
        "code", "geography_basis", "within_set", "valid_to"
    ):
        total = SET_TOTALS.get(basis) if within_set else None
        rows.append({"code": code, "total": total, "is_total": code == total, "valid_to": valid_to})
    return pd.DataFrame.from_records(rows).set_index("code")


OBSERVATION_FIELDS = {
    "series_id": "series",
    "series__kpi__code": "kpi",
    "series__place__code": "place",
    "series__spc_fix_after_n_points": "fix_after_n_points",
    "period_id": "period",
    "period__label": "label",
    "period__start": "period_start",
    "period__end": "period_end",
    "numerator": "numerator",
    "denominator": "denominator",
    "value": "value",
    "suppressed": "source_suppressed",
    "ci_lower": "ci_lower",
    "ci_upper": "ci_upper",
}


def _observation_frame(kpi_ids) -> pd.DataFrame:
    """Current observations of these KPIs, one query; all places, for the benchmarks."""
    values = Observation.objects.filter(is_current=True, series__kpi_id__in=kpi_ids).values_list(
        *OBSERVATION_FIELDS
    )
    frame = pd.DataFrame.from_records(values, columns=list(OBSERVATION_FIELDS.values()))
    for column in ("numerator", "denominator", "value", "ci_lower", "ci_upper"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    frame["fix_after_n_points"] = frame["fix_after_n_points"].astype(float)
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column])
    frame["source_suppressed"] = frame["source_suppressed"].astype(bool)
    return frame


# The engine --------------------------------------------------------------------------------


def progress_recompute(*, series_ids: list[int], as_of: date | None = None) -> int:
    """Recompute and store the assessments of these series; returns rows written.

    1. Load every current observation of the series' KPIs (other places are benchmarks).
    2. Assess all of them in one vectorised pass.
    3. Replace the stored assessments of the requested series in one transaction.
    """
    if not series_ids:
        return 0
    as_of = as_of or timezone.localdate()
    kpi_ids = set(Series.objects.filter(id__in=series_ids).values_list("kpi_id", flat=True))
    table = verdict_rules_active()
    obs = _observation_frame(kpi_ids)
    frame = assess(obs, _kpi_frame(kpi_ids), _place_frame(), _rules(table), as_of=as_of)
    wanted = frame[frame["series"].isin(series_ids)] if not frame.empty else frame
    now = timezone.now()
    with transaction.atomic():
        Assessment.objects.filter(series_id__in=series_ids).delete()
        Assessment.objects.bulk_create(
            _assessments(wanted, table=table, computed_at=now), batch_size=5000
        )
        Series.objects.filter(id__in=series_ids).update(computed_at=now)
    return len(wanted)


def _assessments(frame: pd.DataFrame, *, table, computed_at):
    columns = [c for c in ASSESSMENT_FIELDS if c in frame.columns]
    records = frame[["series", "period", *columns]].astype(object)
    records = records.where(pd.notna(records), None)
    for row in records.itertuples(index=False):
        values = dict(zip(["series_id", "period_id", *columns], row, strict=True))
        for name in columns:
            if values[name] is None and name not in NULLABLE:
                values[name] = "" if name in TEXT_FIELDS else False
        yield Assessment(rule_table=table, computed_at=computed_at, **values)


TEXT_FIELDS = {
    f.name for f in Assessment._meta.get_fields() if f.get_internal_type() == "CharField"
}
NULLABLE = {f.name for f in Assessment._meta.get_fields() if getattr(f, "null", False)}


def progress_recompute_dirty(
    *, batch_size: int = 500, as_of: date | None = None
) -> tuple[int, bool]:
    """Recompute one claimed batch of dirty series; says whether any remain."""
    ids = series_claim_dirty(limit=batch_size)
    progress_recompute(series_ids=ids, as_of=as_of)
    return len(ids), Series.objects.filter(needs_recompute=True).exists()


def progress_recompute_enqueue() -> None:
    """Ask a worker to recompute dirty series once the current transaction commits."""
    from .tasks import progress_recompute_task

    transaction.on_commit(progress_recompute_task.delay)
