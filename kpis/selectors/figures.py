"""Reads of every data point with its computed story, for the analysts' API and its exports.

Two views of the same rows (one per series and period):

- ``published``: what the public reads, now or as a release left it (``published_assessments``),
  with the source's disclosure rule applied (``disclosed_figures``): a suppressed value is
  blank with everything derived from it, and only its reason stays. Anyone may read it.
- ``internal``: every current value, approved or not (the internal assessments), each marked
  with its status; for callers the access table lets see unpublished values, and only at their
  places.

A read is a queryset (``observation_rows``/``assessment_rows``: one query, any size, ordered by
id so it pages by cursor and streams by chunk) and a shaping step on each page or chunk of rows
(``observation_frame``/``assessment_frame``), which adds each value's vintage from the published
record in one query more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import F, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from psycopg import ClientCursor

from ..models import Assessment, Kpi, Observation, Release, Series
from .public import baseline_withheld, published_assessments
from .releases import release_latest_published
from .vintages import disclosed_figures, series_vintages


class View:
    PUBLISHED = "published"
    INTERNAL = "internal"
    CHOICES = (PUBLISHED, INTERNAL)


@dataclass(frozen=True)
class FigureFilters:
    """What a caller narrows the rows to; every field optional."""

    kpis: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    period_from: date | None = None
    period_to: date | None = None
    outcome: str = ""
    theme: str = ""
    cohort: str = ""
    breakdown: str = ""
    release: int | None = None
    latest_only: bool = False


# The key columns every row starts with: (ORM path, output name).
_KEY_FIELDS = {
    "id": "id",
    "series_id": "series",
    "period_id": "period",
    "series__kpi__code": "kpi_code",
    "series__place__code": "place_code",
    "series__place__name": "place_name",
    "period__label": "period_label",
    "period__start": "period_start",
    "period__end": "period_end",
    "series__breakdown__dimension": "breakdown_dimension",
    "series__breakdown__category": "breakdown_category",
}
# What the disclosure step needs beside the figures.
_DISCLOSURE_FIELDS = {
    "series__kpi__statistic": "statistic",
    "series__kpi__disclosure_rule__rounding_base": "rounding_base",
}

_OBSERVATION_FIGURES = {
    "value_status": "status",
    "version_shown": "version",
    "numerator": "numerator",
    "denominator": "denominator",
    "value": "value",
    "lower95": "lower95",
    "upper95": "upper95",
    "lower998": "lower998",
    "upper998": "upper998",
    "interval_method": "interval_method",
    "public_suppressed": "suppressed",
    "suppression_reason": "suppression_reason",
    "source_rounded": "source_rounded",
    "release_id": "release",
}
OBSERVATION_FIELDS = {**_KEY_FIELDS, **_OBSERVATION_FIGURES, **_DISCLOSURE_FIELDS}

#: The published read model (``kpis.services.published``): each column a published assessment
#: stores, and the column of ``observation_public_figures`` it stores.
PUBLIC_FIGURE_COLUMNS = {
    "public_numerator": "numerator",
    "public_denominator": "denominator",
    "public_value": "value",
    "public_lower95": "lower95",
    "public_upper95": "upper95",
    "public_lower998": "lower998",
    "public_upper998": "upper998",
    "public_interval_method": "interval_method",
    "public_rounded": "rounded",
    "public_version": "version",
    "first_published_value": "first_published_value",
    "first_published_release_id": "first_published_release_id",
    "revised": "revised",
    "revised_in_release_id": "revised_in_release_id",
}
# The published view reads the figures as stored: no disclosure step and no vintage query at
# read time; the vintage's releases by title.
_PUBLISHED_OBSERVATION_FIGURES = {
    **{
        stored: shaped
        for stored, shaped in PUBLIC_FIGURE_COLUMNS.items()
        if not stored.endswith("_release_id")
    },
    "value_status": "status",
    "public_suppressed": "suppressed",
    "suppression_reason": "suppression_reason",
    "release_id": "release",
    "first_published_release__title": "first_published_release",
    "revised_in_release__title": "revised_in_release",
}
PUBLISHED_OBSERVATION_FIELDS = {**_KEY_FIELDS, **_PUBLISHED_OBSERVATION_FIGURES}


def observation_fields(view: str) -> dict[str, str]:
    """The ORM paths ``observation_rows`` reads for a view, with their output names."""
    return PUBLISHED_OBSERVATION_FIELDS if view == View.PUBLISHED else OBSERVATION_FIELDS


#: The columns of an observation, in order: (name, type, description). Types are JSON
#: Schema's; "number" and "integer" cells may be blank.
OBSERVATION_SCHEMA = [
    ("kpi_code", "string", "The KPI's code."),
    ("place_code", "string", "The place's code."),
    ("place_name", "string", "The place's name."),
    ("period_label", "string", "The reporting period, as the source names it."),
    ("period_start", "date", "The first day of the period."),
    ("period_end", "date", "The last day of the period."),
    ("breakdown_dimension", "string", "The inequalities dimension ('all' for everyone)."),
    ("breakdown_category", "string", "The category within the dimension ('all' for everyone)."),
    (
        "status",
        "string",
        "published; or, for callers who may see unpublished values: approved (awaiting "
        "release) or unapproved.",
    ),
    ("version", "integer", "The version of the value (a correction adds a version)."),
    ("numerator", "number", "The count the value is worked out from."),
    ("denominator", "number", "The population or total the value is worked out from."),
    ("value", "number", "The value, in the KPI's unit."),
    ("lower95", "number", "Lower limit of the 95% confidence interval."),
    ("upper95", "number", "Upper limit of the 95% confidence interval."),
    ("lower998", "number", "Lower limit of the 99.8% confidence interval."),
    ("upper998", "number", "Upper limit of the 99.8% confidence interval."),
    ("interval_method", "string", "How the intervals were worked out."),
    (
        "suppressed",
        "boolean",
        "Withheld from the public by the source's disclosure rule; in the published view its "
        "numbers are blank.",
    ),
    ("suppression_reason", "string", "Why the value is withheld, where it is."),
    (
        "rounded",
        "boolean",
        "The counts are rounded, by the source or by its disclosure rule.",
    ),
    ("release", "integer", "The release whose figures these are (blank if unpublished)."),
    ("first_published_value", "number", "The value as first published (blank if suppressed)."),
    ("first_published_release", "string", "The release that first published a value here."),
    (
        "revised",
        "boolean",
        "The value published now differs from the one first published.",
    ),
    ("revised_in_release", "string", "Where revised: the release that published the new value."),
]
OBSERVATION_COLUMNS = [name for name, _, _ in OBSERVATION_SCHEMA]

_ASSESSMENT_FIGURES = {
    "value_status": "status",
    "is_latest": "is_latest",
    "value": "value",
    "lower95": "lower95",
    "upper95": "upper95",
    "public_suppressed": "suppressed",
    "suppression_reason": "suppression_reason",
    "baseline_label": "baseline_label",
    "baseline_value": "baseline_value",
    "baseline_first_available": "baseline_first_available",
    "baseline_pandemic_affected": "baseline_pandemic_affected",
    "change": "change",
    "change_lower": "change_lower",
    "change_upper": "change_upper",
    "change_method": "change_method",
    "change_category": "change_category",
    "change_reason": "change_reason",
    "benchmark_england": "benchmark_england",
    "benchmark_england_by_source": "benchmark_england_by_source",
    "benchmark_rest_of_set": "benchmark_rest_of_set",
    "spc_mean": "spc_mean",
    "spc_lower_limit": "spc_lower_limit",
    "spc_upper_limit": "spc_upper_limit",
    "spc_point_type": "spc_point_type",
    "spc_special_cause": "spc_special_cause",
    "spc_trial_limits": "spc_trial_limits",
    "spc_reason": "spc_reason",
    "assurance": "assurance",
    "target_kind": "target_kind",
    "target_value": "target_value",
    "progress_share": "progress_share",
    "progress_status": "progress_status",
    "periods_met_share": "periods_met_share",
    "planned_value": "planned_value",
    "trend_projection": "trend_projection",
    "trend_lower": "trend_lower",
    "trend_upper": "trend_upper",
    "verdict": "verdict",
    "verdict_reason": "verdict_reason",
    "release_id": "release",
    "computed_at": "computed_at",
    "baseline_hidden": "baseline_hidden",
    # Only for the disclosure step, which rounds counts as the figures' own downloads do.
    "numerator": "numerator",
    "denominator": "denominator",
}
ASSESSMENT_FIELDS = {**_KEY_FIELDS, **_ASSESSMENT_FIGURES, **_DISCLOSURE_FIELDS}

ASSESSMENT_SCHEMA = [
    *OBSERVATION_SCHEMA[:9],
    ("is_latest", "boolean", "The series' latest period."),
    ("value", "number", "The value, in the KPI's unit."),
    ("lower95", "number", "Lower limit of the 95% confidence interval."),
    ("upper95", "number", "Upper limit of the 95% confidence interval."),
    ("suppressed", "boolean", "Withheld from the public by the source's disclosure rule."),
    ("suppression_reason", "string", "Why the value is withheld, where it is."),
    ("baseline_label", "string", "The period change is measured from (2020-21 by default)."),
    ("baseline_value", "number", "The value in the baseline period."),
    (
        "baseline_first_available",
        "boolean",
        "The baseline is the first period with a value, the set baseline having none.",
    ),
    (
        "baseline_pandemic_affected",
        "boolean",
        "The baseline period overlaps the COVID-19 pandemic's disruption.",
    ),
    ("change", "number", "The change since the baseline."),
    ("change_lower", "number", "Lower limit of the change's 95% confidence interval."),
    ("change_upper", "number", "Upper limit of the change's 95% confidence interval."),
    ("change_method", "string", "How the change and its interval were worked out."),
    (
        "change_category",
        "string",
        "significant_increase, significant_decrease, no_significant_change or not_tested.",
    ),
    ("change_reason", "string", "Why the change was not tested, where it was not."),
    ("benchmark_england", "string", "Compared with England: better, similar, worse, ..."),
    (
        "benchmark_england_by_source",
        "boolean",
        "The comparison with England is the publisher's own.",
    ),
    ("benchmark_rest_of_set", "string", "Compared with the rest of SET."),
    ("spc_mean", "number", "Statistical process control: the process mean."),
    ("spc_lower_limit", "number", "The lower process limit."),
    ("spc_upper_limit", "number", "The upper process limit."),
    ("spc_point_type", "string", "The point's variation (Making Data Count)."),
    ("spc_special_cause", "string", "Which special-cause rule the point meets, if any."),
    ("spc_trial_limits", "boolean", "The limits are trial limits (too few points to fix them)."),
    ("spc_reason", "string", "Why no process limits were drawn, where none were."),
    ("assurance", "string", "Whether the process will meet the target (Making Data Count)."),
    ("target_kind", "string", "threshold, value_by_date or trajectory."),
    ("target_value", "number", "The target."),
    ("progress_share", "number", "The share of the way from baseline to target."),
    ("progress_status", "string", "Progress against the target."),
    ("periods_met_share", "number", "The share of periods meeting the target."),
    ("planned_value", "number", "The straight path from baseline to target, at this period."),
    ("trend_projection", "number", "The current trend projected to the target's due date."),
    ("trend_lower", "number", "Lower limit of the projection's 95% interval."),
    ("trend_upper", "number", "Upper limit of the projection's 95% interval."),
    ("verdict", "string", "The Strategy Implementation Group's verdict."),
    ("verdict_reason", "string", "Why the verdict is what it is."),
    ("release", "integer", "The release whose figures these are (blank if unpublished)."),
    ("computed_at", "datetime", "When the assessment was computed."),
]
ASSESSMENT_COLUMNS = [name for name, _, _ in ASSESSMENT_SCHEMA]

# What a publicly suppressed value would give away, beyond its own numbers.
_SUPPRESSED_ASSESSMENT_NUMBERS = [
    "value",
    "lower95",
    "upper95",
    "change",
    "change_lower",
    "change_upper",
    "spc_mean",
    "spc_lower_limit",
    "spc_upper_limit",
    "progress_share",
    "planned_value",
    "trend_projection",
    "trend_lower",
    "trend_upper",
]
_SUPPRESSED_ASSESSMENT_WORDS = [
    "change_category",
    "benchmark_england",
    "benchmark_rest_of_set",
    "spc_point_type",
    "spc_special_cause",
    "assurance",
    "progress_status",
    "verdict",
]


def _base_rows(*, view: str, as_of: Release | None, internal_place_ids) -> QuerySet[Assessment]:
    if view == View.INTERNAL:
        return Assessment.objects.filter(
            scope=Assessment.Scope.INTERNAL, series__place_id__in=list(internal_place_ids)
        )
    return published_assessments(as_of=as_of)


def _filtered(rows: QuerySet[Assessment], filters: FigureFilters) -> QuerySet[Assessment]:
    if filters.kpis:
        rows = rows.filter(series__kpi__code__in=list(filters.kpis))
    if filters.places:
        rows = rows.filter(series__place__code__in=list(filters.places))
    if filters.period_from:
        rows = rows.filter(period__start__gte=filters.period_from)
    if filters.period_to:
        rows = rows.filter(period__end__lte=filters.period_to)
    # By subquery, not join: a KPI under two priorities of a theme is one KPI.
    if filters.outcome:
        rows = rows.filter(
            series__kpi_id__in=Kpi.objects.filter(outcomes__code=filters.outcome).values("id")
        )
    if filters.theme:
        rows = rows.filter(
            series__kpi_id__in=Kpi.objects.filter(priorities__theme__code=filters.theme).values(
                "id"
            )
        )
    if filters.cohort:
        rows = rows.filter(series__kpi__cohort=filters.cohort)
    if filters.breakdown:
        dimension, _, category = filters.breakdown.partition(":")
        rows = rows.filter(series__breakdown__dimension=dimension)
        if category:
            rows = rows.filter(series__breakdown__category=category)
    if filters.release is not None:
        rows = rows.filter(release_id=filters.release)
    if filters.latest_only:
        rows = rows.filter(is_latest=True)
    return rows


def _observation_of(view: str) -> QuerySet[Observation]:
    """The stored version of each row's value: the current one, or the one its release
    published."""
    versions = Observation.objects.filter(
        series_id=OuterRef("series_id"), period_id=OuterRef("period_id")
    )
    if view == View.INTERNAL:
        return versions.filter(is_current=True)
    return versions.filter(published_at__lte=OuterRef("release__published_at")).order_by("-version")


def observation_rows(
    *,
    filters: FigureFilters,
    view: str = View.PUBLISHED,
    as_of: Release | None = None,
    internal_place_ids=(),
) -> QuerySet:
    """Each value of the rows the filters select, as ``view`` shows them, ordered by id:
    dicts of ``observation_fields(view)`` (``.values_list(*observation_fields(view))`` for
    tuples); one query, any number of rows."""
    rows = _filtered(
        _base_rows(view=view, as_of=as_of, internal_place_ids=internal_place_ids), filters
    )
    if view == View.PUBLISHED:
        return rows.order_by("id").values(*PUBLISHED_OBSERVATION_FIELDS)
    return observation_source_rows(rows, view=view)


def observation_source_rows(rows: QuerySet[Assessment], *, view: str) -> QuerySet:
    """Assessments with what shaping their values needs (``OBSERVATION_FIELDS``): the stored
    version of each value and whether its source rounded it, ordered by id."""
    stored = _observation_of(view)
    return (
        rows.annotate(
            version_shown=Subquery(stored.values("version")[:1]),
            source_rounded=Coalesce(Subquery(stored.values("rounded")[:1]), Value(False)),
        )
        .order_by("id")
        .values(*OBSERVATION_FIELDS)
    )


def assessment_rows(
    *,
    filters: FigureFilters,
    view: str = View.PUBLISHED,
    as_of: Release | None = None,
    internal_place_ids=(),
) -> QuerySet:
    """Each assessment of the rows the filters select, as ``view`` shows them, ordered by id:
    dicts of ``ASSESSMENT_FIELDS`` (or tuples, as for observations); one query.

    ``baseline_hidden``: the baseline period's own value is publicly suppressed in the same
    release, so its value must not be given away as this row's baseline.
    """
    rows = _filtered(
        _base_rows(view=view, as_of=as_of, internal_place_ids=internal_place_ids), filters
    ).annotate(baseline_hidden=baseline_withheld())
    return rows.order_by("id").values(*ASSESSMENT_FIELDS)


def _records(rows, fields: dict[str, str]) -> pd.DataFrame:
    """A page of dicts or a chunk of tuples as a frame of the fields' output names."""
    rows = list(rows)
    if rows and isinstance(rows[0], dict):
        rows = [tuple(row[key] for key in fields) for row in rows]
    return pd.DataFrame.from_records(rows, columns=list(fields.values()))


def _vintage_release(as_of: Release | None) -> Release | None:
    return as_of if as_of is not None else release_latest_published()


def _with_vintages(frame: pd.DataFrame, *, as_of: Release | None) -> pd.DataFrame:
    """Each row's vintage in the published record: one query for the rows' series."""
    release = _vintage_release(as_of) if not frame.empty else None
    if release is None:
        return frame.assign(
            first_published_value=np.nan,
            first_published_release="",
            revised=False,
            revised_in_release="",
            first_published_release_id=pd.NA,
            revised_in_release_id=pd.NA,
        )
    vintages = series_vintages(series_ids=frame["series"].unique().tolist(), as_of=release)
    out = frame.merge(vintages, on=["series", "period"], how="left")
    out["revised"] = out["revised"].astype("boolean").fillna(False).astype(bool)
    for column in ("first_published_release", "revised_in_release"):
        out[column] = out[column].fillna("")
    for column in ("first_published_release_id", "revised_in_release_id"):
        out[column] = pd.to_numeric(out[column]).astype("Int64")
    return out


def _stored_published_frame(rows) -> pd.DataFrame:
    """Rows of the published view, as the release stored them for the public."""
    frame = _records(rows, PUBLISHED_OBSERVATION_FIELDS)
    for column in ("suppressed", "rounded", "revised"):
        frame[column] = frame[column].astype(bool)
    for column in ("first_published_release", "revised_in_release"):
        frame[column] = frame[column].fillna("")
    numbers = [name for name, kind, _ in OBSERVATION_SCHEMA if kind == "number"]
    frame[numbers] = frame[numbers].apply(pd.to_numeric).astype(float)
    for column in ("version", "release"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    return frame[OBSERVATION_COLUMNS]


def observation_frame(rows, *, view: str, as_of: Release | None = None) -> pd.DataFrame:
    """Rows of ``observation_rows`` as ``OBSERVATION_COLUMNS``: for the published view as the
    release stored them for the public (no query); for the internal view with their vintages
    (one query; none for no rows)."""
    if view == View.PUBLISHED:
        return _stored_published_frame(rows)
    return observation_public_figures(rows, view=view, as_of=as_of)[OBSERVATION_COLUMNS]


def observation_public_figures(rows, *, view: str, as_of: Release | None = None) -> pd.DataFrame:
    """Rows of ``observation_source_rows`` shaped for ``view``: for the published view, the
    source's disclosure rule applied (``disclosed_figures``); each with its vintage, keyed by
    ``id`` (the assessment's), with the vintage's release ids. One query."""
    frame = _records(rows, OBSERVATION_FIELDS)
    frame["suppressed"] = frame["suppressed"].astype(bool)
    frame["source_rounded"] = frame["source_rounded"].astype(bool)
    for column in ("lower998", "upper998"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    if view == View.PUBLISHED:
        base = pd.to_numeric(frame["rounding_base"]).astype(float)
        frame = disclosed_figures(frame)
        frame["rounded"] = frame["source_rounded"] | (base.gt(0) & ~frame["suppressed"])
        frame.loc[frame["suppressed"], ["lower998", "upper998"]] = np.nan
        # A rounded count's intervals would give the unrounded count away.
        no_interval = frame["lower95"].isna()
        frame.loc[no_interval, ["lower998", "upper998"]] = np.nan
        frame.loc[no_interval, "interval_method"] = ""
    else:
        frame["rounded"] = frame["source_rounded"]
    frame["version"] = pd.to_numeric(frame["version"]).astype("Int64")
    frame["release"] = pd.to_numeric(frame["release"]).astype("Int64")
    return _with_vintages(frame, as_of=as_of)


def assessment_frame(rows, *, view: str, as_of: Release | None = None) -> pd.DataFrame:
    """Rows of ``assessment_rows`` as ``ASSESSMENT_COLUMNS``; for the published view a
    suppressed value leaves blank everything worked out from it, and a baseline taken from a
    suppressed value is blank too. No query."""
    frame = _records(rows, ASSESSMENT_FIELDS)
    flags = [
        "suppressed",
        "is_latest",
        "baseline_first_available",
        "baseline_pandemic_affected",
        "benchmark_england_by_source",
        "spc_trial_limits",
        "baseline_hidden",
    ]
    frame[flags] = frame[flags].astype(bool)
    numbers = [name for name, kind, _ in ASSESSMENT_SCHEMA if kind == "number"]
    frame[numbers] = frame[numbers].apply(pd.to_numeric).astype(float)
    if view == View.PUBLISHED:
        rounded_counts = disclosed_figures(frame)
        frame["value"] = rounded_counts["value"]
        frame[["lower95", "upper95"]] = rounded_counts[["lower95", "upper95"]]
        hidden = frame["suppressed"]
        frame.loc[hidden, _SUPPRESSED_ASSESSMENT_NUMBERS] = np.nan
        frame.loc[hidden, _SUPPRESSED_ASSESSMENT_WORDS] = ""
        frame.loc[frame["baseline_hidden"], "baseline_value"] = np.nan
        frame.loc[frame["baseline_hidden"], ["change", "change_lower", "change_upper"]] = np.nan
    frame["release"] = pd.to_numeric(frame["release"]).astype("Int64")
    return frame[ASSESSMENT_COLUMNS]


def figures_last_changed(*, view: str, internal_place_ids=()) -> tuple[object, str]:
    """When the figures a view reads last changed, and a tag for it: the latest publication
    for the published view; the latest computation at these places for the internal one.
    One query."""
    if view == View.INTERNAL:
        latest = Series.objects.filter(place_id__in=list(internal_place_ids)).aggregate(
            latest=Max("computed_at")
        )["latest"]
        return latest, f"internal-{latest.isoformat() if latest else 'none'}"
    release = (
        Release.objects.filter(published_at__isnull=False)
        .order_by("-published_at", "-pk")
        .values_list("pk", "published_at")
        .first()
    )
    if release is None:
        return None, "published-none"
    return release[1], f"published-{release[0]}-{release[1].isoformat()}"


# The published observations as CSV, written by PostgreSQL ----------------------------------

#: Cell text as the pandas path writes it (``reporting.exports.csv_stream``): floats as Python
#: writes them (90.0, not 90), booleans as True/False, blank for null or empty text, and text a
#: spreadsheet would run as a formula prefixed with a quote (``kpis.returns.report``).
_CSV_CELL = {
    "string": "CASE WHEN {c} ~ '^[-=+@\\t\\r]' THEN '''' || {c} ELSE NULLIF({c}, '') END",
    "number": (
        "CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 "
        "THEN trunc({c})::bigint::text || '.0' ELSE {c}::text END"
    ),
    "integer": "{c}::text",
    "boolean": "CASE WHEN {c} THEN 'True' ELSE 'False' END",
    "date": "{c}::text",
}
_OBSERVATION_KINDS = {name: kind for name, kind, _ in OBSERVATION_SCHEMA}
#: Bytes handed on at a time by ``published_observation_csv``.
CSV_BLOCK_BYTES = 256 * 1024


def published_observation_copy_sql(*, filters: FigureFilters, as_of: Release | None = None) -> str:
    """``COPY (...) TO STDOUT`` of the published observations the filters select, each cell as
    ``observation_frame`` and ``csv_stream`` would write it, ordered by id (PostgreSQL only)."""
    aliases = {out: f"c_{out}" for out in PUBLISHED_OBSERVATION_FIELDS.values()}
    rows = (
        _filtered(_base_rows(view=View.PUBLISHED, as_of=as_of, internal_place_ids=()), filters)
        .order_by("id")
        .values(**{aliases[out]: F(path) for path, out in PUBLISHED_OBSERVATION_FIELDS.items()})
    )
    sql, params = rows.query.sql_with_params()
    connection.ensure_connection()
    inner = ClientCursor(connection.connection).mogrify(sql, params)
    cells = ", ".join(
        _CSV_CELL[_OBSERVATION_KINDS[name]].format(c=f"f.{aliases[name]}")
        for name in OBSERVATION_COLUMNS
    )
    return f"COPY (SELECT {cells} FROM ({inner}) f ORDER BY f.c_id) TO STDOUT (FORMAT csv)"


def published_observation_csv(*, filters: FigureFilters, as_of: Release | None = None):
    """The published observations' CSV rows (no header, CRLF line ends) in blocks of about
    ``CSV_BLOCK_BYTES``, straight from PostgreSQL's COPY: constant memory, any number of
    rows."""
    statement = published_observation_copy_sql(filters=filters, as_of=as_of)
    block = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for data in copy:
            block += data
            if len(block) >= CSV_BLOCK_BYTES:
                yield bytes(block).replace(b"\n", b"\r\n")
                block.clear()
    if block:
        yield bytes(block).replace(b"\n", b"\r\n")
