"""The progress engine: recompute stored assessments for series marked as needing it, and the
published assessments a release brings.

Writers mark series dirty (new or corrected observations, changed definitions, targets or
verdict rules); a Celery task claims a bounded batch, recomputes it, and re-enqueues itself
until none remain. Pages and the API only read the stored ``Assessment`` rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import yaml
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..assessment import Rule, assess
from ..bulk.copy import copy_into, fast_path
from ..models import Assessment, Observation, Release, Series, VerdictRuleTable
from ..selectors.catalogue import kpi_frame, place_frame
from ..selectors.observations import observations_frame
from ..selectors.places import place_lattice
from .enqueue import progress_recompute_enqueue
from .published import published_figures_store

NOT_COMPUTED = ("id", "series", "period", "rule_table", "computed_at", "scope", "release")
ASSESSMENT_FIELDS = [
    f.name for f in Assessment._meta.get_fields() if f.concrete and f.name not in NOT_COMPUTED
]


# Dirty flags -------------------------------------------------------------------------------


def series_mark_dirty(*, kpi_ids=None) -> int:
    """Mark the series of some KPIs (or of all, with None) as needing recomputation."""
    queryset = Series.objects.all()
    if kpi_ids is not None:
        queryset = queryset.filter(kpi_id__in=list(kpi_ids))
    return queryset.update(needs_recompute=True)


def series_recompute_request(*, kpi_ids=None) -> int:
    """Mark the series of some KPIs (or of all) dirty and ask a worker to recompute them."""
    marked = series_mark_dirty(kpi_ids=kpi_ids)
    progress_recompute_enqueue()
    return marked


def series_claim_dirty(*, limit: int) -> list[int]:
    """Claim the dirty series of the next KPIs, clearing their flags: those of the first
    ``limit`` dirty series and every other dirty series of the same KPIs, as a KPI's values are
    loaded and assessed whole (its other places are the benchmarks). Concurrent workers skip
    claimed series.

    A writer that marks a series again while it is being recomputed sets the flag anew, so
    the next batch picks it up: nothing is lost between claim and write.
    """
    with transaction.atomic():
        dirty = Series.objects.filter(needs_recompute=True).order_by("kpi_id", "id")
        if connection.features.has_select_for_update_skip_locked:
            dirty = dirty.select_for_update(skip_locked=True)
        first = list(dirty.values_list("id", "kpi_id")[:limit])
        kpi_ids = {kpi_id for _, kpi_id in first}
        rest = dirty.filter(kpi_id__in=kpi_ids).exclude(id__in=[i for i, _ in first])
        ids = [i for i, _ in first] + list(rest.values_list("id", flat=True))
        Series.objects.filter(id__in=ids).update(needs_recompute=False)
    return ids


# Verdict rules -----------------------------------------------------------------------------


def verdict_rules_active() -> VerdictRuleTable:
    table = VerdictRuleTable.objects.filter(is_active=True).first()
    if table is None:
        raise ValidationError("No verdict rule table is active.")
    return table


def rules_of(table: VerdictRuleTable) -> list[Rule]:
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
    "standard_status",
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
    series_recompute_request()
    return table


def verdict_rules_ensure_default(*, path: Path) -> VerdictRuleTable:
    """Install the shipped default rules, or upgrade an earlier shipped default left unchanged.

    1. No active table: publish the shipped rules.
    2. The active table holds the rules of an earlier shipped version (the file's
       ``supersedes``), as shipped: publish the shipped rules as the next version.
    3. Otherwise (the current default, or rules the group has changed): keep the active table.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    existing = VerdictRuleTable.objects.filter(is_active=True).first()
    earlier = [entry["rules"] for entry in data.get("supersedes") or []]
    if existing is None or (existing.rules != data["rules"] and existing.rules in earlier):
        return verdict_rules_publish(rules=data["rules"], note=data.get("note", ""))
    return existing


# The engine --------------------------------------------------------------------------------


def progress_recompute(*, series_ids: list[int], as_of: date | None = None) -> int:
    """Recompute and store the internal assessments of these series; returns rows written.

    1. Load every current observation of the series' KPIs (other places are benchmarks).
    2. Assess all of them in one vectorised pass.
    3. Replace the stored internal assessments of the requested series in one transaction,
       each marked by its value's status (published, approved awaiting release, unapproved).
    """
    if not series_ids:
        return 0
    as_of = as_of or timezone.localdate()
    kpi_ids = set(Series.objects.filter(id__in=series_ids).values_list("kpi_id", flat=True))
    table = verdict_rules_active()
    obs = observations_frame(kpi_ids=kpi_ids)
    frame = assess(obs, kpi_frame(kpi_ids=kpi_ids), place_frame(), rules_of(table), as_of=as_of)
    wanted = frame[frame["series"].isin(series_ids)] if not frame.empty else frame
    wanted = _with_value_status(wanted, obs)
    now = timezone.now()
    with transaction.atomic():
        Assessment.objects.filter(
            series_id__in=series_ids, scope=Assessment.Scope.INTERNAL
        ).delete()
        _assessments_write(wanted, table=table, computed_at=now)
        Series.objects.filter(id__in=series_ids).update(computed_at=now)
    return len(wanted)


def _with_value_status(frame: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.assign(value_status=pd.Series(dtype=object))
    status = obs[["series", "period"]].assign(value_status=Assessment.ValueStatus.UNAPPROVED.value)
    status.loc[obs["approved"].to_numpy(), "value_status"] = Assessment.ValueStatus.APPROVED.value
    status.loc[obs["release"].notna().to_numpy(), "value_status"] = (
        Assessment.ValueStatus.PUBLISHED.value
    )
    return frame.merge(status, on=["series", "period"], how="left")


#: Rows a release writes beyond which the assessment table's statistics are refreshed.
ANALYZE_AFTER_ROWS = 10_000


def published_assessments_compute(*, release: Release) -> int:
    """Store the published assessments a release brings; returns rows written.

    The series recomputed are those of every KPI the release publishes values of, and of every
    KPI whose published assessments were made under a verdict rule table no longer active.
    Each is assessed from the values as published by this release (the latest version of each
    value released by then), never from unpublished ones, and the public's current read of the
    series moves to this release. Earlier releases' rows stay, so each remains answerable.
    Disclosure control covers secondary suppression here, over each KPI's places (the place
    lattice) and periods; internal assessments carry only each value's own suppression.
    """
    if release.published_at is None:
        raise ValidationError("Only a published release has published figures.")
    table = verdict_rules_active()
    kpi_ids = set(
        Observation.objects.filter(release=release).values_list("series__kpi_id", flat=True)
    ) | set(
        Assessment.published.filter(release_id=F("series__published_release_id"))
        .exclude(rule_table=table)
        .values_list("series__kpi_id", flat=True)
    )
    if not kpi_ids:
        return 0
    obs = observations_frame(kpi_ids=kpi_ids, as_of=release)
    as_of = timezone.localdate(release.published_at)
    frame = assess(
        obs,
        kpi_frame(kpi_ids=kpi_ids),
        place_frame(),
        rules_of(table),
        as_of=as_of,
        lattice=place_lattice(),
    )
    frame = frame.assign(value_status=Assessment.ValueStatus.PUBLISHED.value)
    series_ids = frame["series"].unique().tolist() if not frame.empty else []
    now = timezone.now()
    with transaction.atomic():
        Assessment.objects.filter(release=release, series_id__in=series_ids).delete()
        _assessments_write(
            frame, table=table, computed_at=now, scope=Assessment.Scope.PUBLISHED, release=release
        )
        Series.objects.filter(id__in=series_ids).update(published_release=release)
        if fast_path() and len(frame) >= ANALYZE_AFTER_ROWS:
            # Fresh statistics before reading the new rows back: planned as the few rows the
            # table's old statistics suggest, a release of a million would take an hour.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE kpis_assessment")
        published_figures_store(release=release)
    return len(frame)


def _assessments_write(
    frame: pd.DataFrame,
    *,
    table,
    computed_at,
    scope: str = Assessment.Scope.INTERNAL,
    release: Release | None = None,
) -> None:
    """Store assessments: with COPY on PostgreSQL (the ORM spends 0.6 ms preparing each of an
    assessment's 36 columns), through the ORM elsewhere; the same rows either way."""
    if frame.empty:
        return
    if fast_path():
        copy_into(
            "kpis_assessment",
            _assessment_rows(
                frame, table=table, computed_at=computed_at, scope=scope, release=release
            ),
        )
        return
    Assessment.objects.bulk_create(
        _assessments(frame, table=table, computed_at=computed_at, scope=scope, release=release),
        batch_size=5000,
    )


def _assessment_rows(
    frame: pd.DataFrame, *, table, computed_at, scope: str, release: Release | None
) -> pd.DataFrame:
    """The frame as rows of ``kpis_assessment``, column by column as ``_assessments`` fills
    the model: a missing value is the field's default, or blank text, or false."""
    fixed = {
        "rule_table": table.pk,
        "computed_at": computed_at,
        "scope": scope,
        "release": release.pk if release is not None else None,
    }
    rows = {
        "series_id": frame["series"].astype("int64").reset_index(drop=True),
        "period_id": frame["period"].astype("int64").reset_index(drop=True),
    }
    size = len(frame)
    for field in Assessment._meta.concrete_fields:
        if field.primary_key or field.name in ("series", "period"):
            continue
        kind = field.get_internal_type()
        if field.name in fixed:
            column = pd.Series([fixed[field.name]] * size)
        elif field.name in frame.columns:
            column = frame[field.name].reset_index(drop=True)
        else:
            default = field.get_default() if field.has_default() else None
            column = pd.Series([default] * size)
        if kind == "CharField":
            column = column.where(column.notna(), "").astype(str)
        elif kind == "BooleanField":
            column = column.where(column.notna(), False).astype(bool)
        elif kind == "FloatField":
            column = pd.to_numeric(column, errors="coerce").astype("float64")
        elif kind in ("ForeignKey", "PositiveIntegerField"):
            column = pd.to_numeric(column, errors="coerce").astype("Int64")
        elif kind == "DateTimeField":
            column = pd.to_datetime(column, utc=True)
        rows[field.column] = column
    return pd.DataFrame(rows)


def _assessments(
    frame: pd.DataFrame,
    *,
    table,
    computed_at,
    scope: str = Assessment.Scope.INTERNAL,
    release: Release | None = None,
):
    columns = [c for c in ASSESSMENT_FIELDS if c in frame.columns]
    records = frame[["series", "period", *columns]].astype(object)
    records = records.where(pd.notna(records), None)
    for row in records.itertuples(index=False):
        values = dict(zip(["series_id", "period_id", *columns], row, strict=True))
        for name in columns:
            if values[name] is None and name not in NULLABLE:
                values[name] = "" if name in TEXT_FIELDS else False
        yield Assessment(
            rule_table=table, computed_at=computed_at, scope=scope, release=release, **values
        )


TEXT_FIELDS = {
    f.name for f in Assessment._meta.get_fields() if f.get_internal_type() == "CharField"
}
NULLABLE = {f.name for f in Assessment._meta.get_fields() if getattr(f, "null", False)}


def progress_recompute_dirty(
    *, batch_size: int = 500, as_of: date | None = None
) -> tuple[int, bool]:
    """Recompute one claimed batch of dirty series; says whether any remain.

    Claiming clears the flags; should the computation fail, they are set again, so the batch
    is retried rather than left stale until the nightly run.
    """
    ids = series_claim_dirty(limit=batch_size)
    try:
        progress_recompute(series_ids=ids, as_of=as_of)
    except Exception:
        Series.objects.filter(id__in=ids).update(needs_recompute=True)
        raise
    return len(ids), Series.objects.filter(needs_recompute=True).exists()
