"""Reads of a release's published figures with their vintages: each value as the release left
it, whether it differs from the value first published, and which releases published each.

Public by construction: the figures come from ``published_assessments(as_of=...)`` and their
history from ``published_assessment_history`` (``kpis.selectors.public``: published scope,
published releases, none later than the release read). Everything is set-based: two queries
for a release, whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Q, QuerySet, Subquery

from ..disclosure import COUNT_STATISTICS, round_to_base
from ..models import Kpi, Release, Statistic
from .public import published_assessment_history, published_assessments

# A release's figures as the downloads publish them, in order: (name, type, description), the
# types being Frictionless Table Schema types.
FIGURE_SCHEMA = [
    ("kpi_code", "string", "The KPI's code in the SET outcomes framework."),
    ("kpi_title", "string", "What the KPI measures."),
    ("unit", "string", "The unit of the value, lower95 and upper95."),
    ("place_code", "string", "The place's code (a sub-ICB location, council area or ICB)."),
    ("place_name", "string", "The place's name."),
    ("period_label", "string", "The reporting period, as the source names it."),
    ("period_start", "date", "The first day of the reporting period."),
    ("period_end", "date", "The last day of the reporting period."),
    ("breakdown_dimension", "string", "The inequalities dimension ('all' for everyone)."),
    ("breakdown_category", "string", "The category within the dimension ('all' for everyone)."),
    ("breakdown", "string", "The group of people the value is for, in words."),
    ("value", "number", "The value; blank where suppressed or not available."),
    ("lower95", "number", "Lower limit of the 95% confidence interval; blank where suppressed."),
    ("upper95", "number", "Upper limit of the 95% confidence interval; blank where suppressed."),
    (
        "numerator",
        "number",
        "The count the value is worked out from, rounded where the source rounds counts; "
        "blank where suppressed.",
    ),
    (
        "denominator",
        "number",
        "The population or total the value is worked out from; blank where suppressed.",
    ),
    (
        "suppressed",
        "boolean",
        "True where the value is withheld by the source's disclosure rule (to protect people "
        "from being identified, or where too few events make it unreliable).",
    ),
    ("suppression_reason", "string", "Why the value is withheld, where it is."),
    ("baseline_label", "string", "The period the value is compared with to measure change."),
    (
        "change_category",
        "string",
        "The change since the baseline: significant_increase, significant_decrease, "
        "no_significant_change or not_tested.",
    ),
    (
        "verdict",
        "string",
        "The Strategy Implementation Group's verdict: on_track, improving, "
        "no_significant_change, needs_attention, off_track or cannot_assess.",
    ),
    (
        "revised",
        "boolean",
        "True where this value differs from the one first published for the same KPI, place, "
        "period and breakdown.",
    ),
    ("first_published_value", "number", "The value as first published (blank if suppressed)."),
    ("first_published_release", "string", "The release that first published a value here."),
    ("revised_in_release", "string", "Where revised: the release that published this value."),
]
FIGURE_COLUMNS = [name for name, _, _ in FIGURE_SCHEMA]
#: One row per KPI, place, period and breakdown.
FIGURE_PRIMARY_KEY = [
    "kpi_code",
    "place_code",
    "period_label",
    "breakdown_dimension",
    "breakdown_category",
]

_FIGURE_FIELDS = {
    "series_id": "series",
    "period_id": "period",
    "series__kpi__code": "kpi_code",
    "series__kpi__title": "kpi_title",
    "series__kpi__unit": "unit",
    "series__place__code": "place_code",
    "series__place__name": "place_name",
    "period__label": "period_label",
    "period__start": "period_start",
    "period__end": "period_end",
    "series__breakdown__dimension": "breakdown_dimension",
    "series__breakdown__category": "breakdown_category",
    "series__breakdown__label": "breakdown",
    "value": "value",
    "lower95": "lower95",
    "upper95": "upper95",
    "numerator": "numerator",
    "denominator": "denominator",
    "public_suppressed": "suppressed",
    "suppression_reason": "suppression_reason",
    "baseline_label": "baseline_label",
    "change_category": "change_category",
    "verdict": "verdict",
    "series__kpi__statistic": "statistic",
    "series__kpi__disclosure_rule__rounding_base": "rounding_base",
}

_HISTORY_FIELDS = {
    "series_id": "series",
    "period_id": "period",
    "release_id": "release",
    "release__title": "release_title",
    "release__published_at": "published_at",
    "value": "value",
    "numerator": "numerator",
    "denominator": "denominator",
    "lower95": "lower95",
    "upper95": "upper95",
    "public_suppressed": "suppressed",
    "series__kpi__statistic": "statistic",
    "series__kpi__disclosure_rule__rounding_base": "rounding_base",
}

#: What a publicly suppressed value would give away: all blank, only the reason stays.
_HIDDEN_NUMBERS = ["value", "lower95", "upper95", "numerator", "denominator"]
_HIDDEN_WORDS = ["change_category", "verdict"]

_KEY = ["series", "period"]


def disclosed_figures(frame: pd.DataFrame) -> pd.DataFrame:
    """The figures the source's disclosure rule lets the public see (``kpis.disclosure``).

    1. A publicly suppressed value is blank, with its interval, counts and change category.
    2. Where the source rounds counts (``rounding_base``), numerators are rounded, and so are
       the denominators of proportions and the values of counts; values worked out from the
       unrounded counts stay as they are, as the source publishes them.
    3. A rounded count's interval is blank: it was worked out from the unrounded count and
       would give it away.

    Rounding is idempotent, so figures stored already rounded are unchanged.
    """
    out = frame.copy()
    out["suppressed"] = out["suppressed"].astype(bool)
    for column in _HIDDEN_NUMBERS:
        out[column] = pd.to_numeric(out[column]).astype(float)
    base = pd.to_numeric(out["rounding_base"]).astype(float)
    rounded = base.notna() & base.gt(0)
    if rounded.any():
        out.loc[rounded, "numerator"] = round_to_base(out["numerator"], base)[rounded]
        proportion = rounded & out["statistic"].eq(Statistic.PROPORTION)
        out.loc[proportion, "denominator"] = round_to_base(out["denominator"], base)[proportion]
        count = rounded & out["statistic"].isin(COUNT_STATISTICS)
        out.loc[count, "value"] = round_to_base(out["value"], base)[count]
        out.loc[count, ["lower95", "upper95"]] = np.nan
    hidden = out["suppressed"]
    out.loc[hidden, _HIDDEN_NUMBERS] = np.nan
    for column in _HIDDEN_WORDS:
        if column in out.columns:
            out.loc[hidden, column] = ""
    return out


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Equal values, blank equal to blank."""
    return a.eq(b) | (a.isna() & b.isna())


def vintages_of(figures: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Add each value's vintage to ``figures`` from every published version up to then.

    1. Order each value's published assessments by release publication.
    2. A version changes the value when what the public sees differs from the version before:
       suppressed against shown, or another number (two suppressed versions never count as a
       change: that would say a hidden value moved).
    3. The first version is the value first published; the last change is the release that
       brought the value now shown (``value_release``).
    4. ``revised``: the value shown differs from the one first published.
    """
    history = disclosed_figures(history).sort_values(
        [*_KEY, "published_at", "release"], ignore_index=True
    )
    grouped = history.groupby(_KEY, sort=False)
    first = grouped.cumcount().eq(0)
    changed = (
        first
        | history["suppressed"].ne(grouped["suppressed"].shift())
        | ~_same(history["value"], grouped["value"].shift())
    )
    first_rows = history.loc[first, [*_KEY, "value", "suppressed", "release", "release_title"]]
    first_rows = first_rows.rename(
        columns={
            "value": "first_published_value",
            "suppressed": "first_suppressed",
            "release": "first_published_release_id",
            "release_title": "first_published_release",
        }
    )
    last_change = history.loc[changed].groupby(_KEY, sort=False).tail(1)
    last_change = last_change[[*_KEY, "release", "release_title"]].rename(
        columns={"release": "value_release_id", "release_title": "value_release"}
    )
    out = figures.merge(first_rows, on=_KEY, how="left").merge(last_change, on=_KEY, how="left")
    first_suppressed = out["first_suppressed"].astype("boolean").fillna(out["suppressed"])
    out["first_suppressed"] = first_suppressed.astype(bool)
    out["revised"] = out["suppressed"].ne(out["first_suppressed"]) | ~_same(
        out["value"], out["first_published_value"]
    )
    out["revised_in_release"] = out["value_release"].where(out["revised"], "").fillna("")
    out["first_published_release"] = out["first_published_release"].fillna("")
    return out


def _published_at(release: Release) -> Subquery:
    """When the release published, as the database says (as ``published_assessments`` reads
    it): never a stale or unsaved object's; NULL for a release not published."""
    return Subquery(
        Release.objects.filter(pk=release.pk, published_at__isnull=False).values("published_at")
    )


def _frame(queryset, fields: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        queryset.values_list(*fields), columns=list(fields.values())
    ).astype({"suppressed": bool})


def release_figures(*, release: Release) -> pd.DataFrame:
    """A published release's figures, as that release published them, with their vintages;
    two queries (none from a release not published, which has no figures).

    Columns: ``FIGURE_COLUMNS`` plus ``series``, ``period`` and the releases' ids
    (``first_published_release_id``, ``value_release_id``: the release that brought the
    value shown). Suppressed values are blank, with their reason.
    """
    rows = published_assessments(as_of=release).order_by(
        "series__kpi__code",
        "series__place__code",
        "series__breakdown__dimension",
        "series__breakdown__position",
        "period__start",
    )
    figures = disclosed_figures(_frame(rows, _FIGURE_FIELDS))
    history = _frame(
        published_assessment_history(as_of=release, series_ids=figures["series"].unique()),
        _HISTORY_FIELDS,
    )
    out = vintages_of(figures, history)
    for column in ("period_start", "period_end"):
        out[column] = pd.to_datetime(out[column]).dt.date
    return out


def release_sources(*, release: Release) -> list[dict[str, str]]:
    """The publishers and data sets of the KPIs a published release has figures of (one
    query), each once: {"publisher", "dataset", "url"}."""
    kpi_ids = published_assessments(as_of=release).values("series__kpi_id")
    rows = (
        Kpi.objects.filter(id__in=kpi_ids)
        .values_list("source_publisher", "source_dataset", "source_url")
        .distinct()
        .order_by("source_publisher", "source_dataset", "source_url")
    )
    return [{"publisher": p, "dataset": d, "url": u} for p, d, u in rows]


def releases_published() -> QuerySet[Release]:
    """Every published release, the latest first, with what a correction corrects."""
    return (
        Release.objects.filter(published_at__isnull=False)
        .select_related("corrects")
        .order_by("-published_at", "-pk")
    )


def release_previous_published(*, release: Release) -> Release | None:
    """The published release before this one (by publication), whose figures it followed."""
    published_at = _published_at(release)
    return (
        Release.objects.filter(published_at__isnull=False)
        .filter(Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=release.pk))
        .order_by("-published_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class ReleaseChanges:
    """What a release changed against the previous published release's figures."""

    release: Release
    previous: Release | None
    new: pd.DataFrame
    revised: pd.DataFrame
    verdicts: pd.DataFrame


def release_changes(*, release: Release) -> ReleaseChanges:
    """Values new in a published release, values it revised, and verdicts that moved, against
    the figures as the previous published release left them (five queries at most).

    Revised rows carry ``value_before`` and ``value_release_before`` (the release that had
    published the old value); moved verdicts carry ``verdict_before``.
    """
    previous = release_previous_published(release=release)
    now = release_figures(release=release)
    if previous is None:
        before = now.iloc[0:0]
    else:
        before = release_figures(release=previous)
    before = before[
        [*_KEY, "value", "suppressed", "suppression_reason", "verdict", "value_release"]
    ].rename(
        columns={
            "value": "value_before",
            "suppressed": "suppressed_before",
            "suppression_reason": "suppression_reason_before",
            "verdict": "verdict_before",
            "value_release": "value_release_before",
        }
    )
    merged = now.merge(before, on=_KEY, how="left", indicator=True)
    known = merged["_merge"].eq("both")
    merged = merged.drop(columns="_merge")
    moved = known & (
        merged["suppressed"].ne(merged["suppressed_before"].astype("boolean").fillna(False))
        | ~_same(merged["value"], merged["value_before"])
    )
    return ReleaseChanges(
        release=release,
        previous=previous,
        new=merged.loc[~known].reset_index(drop=True),
        revised=merged.loc[moved].reset_index(drop=True),
        verdicts=merged.loc[known & merged["verdict"].ne(merged["verdict_before"])].reset_index(
            drop=True
        ),
    )


#: A value's vintage: whether revised, its first published value, and the releases (titles
#: and ids) that first published a value and, where revised, published the one shown.
VINTAGE_COLUMNS = [
    "revised",
    "first_published_value",
    "first_published_release",
    "revised_in_release",
    "first_published_release_id",
    "revised_in_release_id",
]


def series_vintages(*, series_ids, as_of: Release) -> pd.DataFrame:
    """Each published value of these series as ``as_of`` left it, with its vintage: one row per
    series and period (``series``, ``period`` and ``VINTAGE_COLUMNS``); one query."""
    history = _frame(
        published_assessment_history(as_of=as_of, series_ids=series_ids), _HISTORY_FIELDS
    )
    columns = [*_KEY, *VINTAGE_COLUMNS]
    if history.empty:
        return pd.DataFrame(columns=columns)
    shown = disclosed_figures(history).sort_values([*_KEY, "published_at", "release"])
    latest = shown.groupby(_KEY, sort=False).tail(1)[[*_KEY, "value", "suppressed"]]
    out = vintages_of(latest, history)
    out["revised_in_release_id"] = out["value_release_id"].where(out["revised"])
    return out[columns]
