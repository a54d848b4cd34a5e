"""One assessment per KPI, place and period: intervals, baseline, change, benchmarks, SPC,
progress to target, each period against the threshold standard in force, and a verdict from
the Strategy Implementation Group's rule table.

Pure module: pandas frames in and out, vectorised over every series at once. The progress
engine (kpis.services.progress) loads the frames through kpis.selectors and stores the result.

Input frames
------------
``obs``: one row per series and period: series, kpi, place, label, period_start, period_end
(datetime64), numerator, denominator, value, source_suppressed, ci_lower, ci_upper (a
published 95% interval, if any), fix_after_n_points (per series, may be NaN).

``kpis``: one row per KPI code (index): statistic, multiplier, direction, time_structure,
baseline_rule, baseline_label, breaks (list of dates), target_kind, target_value,
target_applies_from, target_due, lag_days, rule (kpis.disclosure.Rule).

``places``: one row per place code (index): total (the code of the SET place on the same
geography basis, or None), is_total, valid_to (the date a replaced place ended, or None).

``lattice`` (published assessments only): each place code's geography basis and area ids, for
secondary suppression (kpis.disclosure.secondary_suppress).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from . import disclosure, periods
from .disclosure import Lattice, disclose, secondary_suppress
from .stats import (
    classify_change,
    compare_to_benchmark_two_levels,
    crude_rate,
    difference_from_intervals,
    distance_achieved,
    isr,
    newcombe_difference,
    planned_trajectory,
    poisson_count_bounds,
    projection_status,
    proportion,
    rate_ratio,
    spc_frame,
    trend_projection_frame,
)
from .stats.spc import SpcTrialLimitsWarning
from .timeseries import derive

RATIO_STATISTICS = ("crude_rate", "isr", "count")
PUBLISHED_INTERVAL_STATISTICS = ("dsr", "survey_estimate", "mean", "median", "score", "pp_gap")
ADDITIVE_STATISTICS = ("proportion", "crude_rate", "isr")
SPC_DIRECTIONS = {
    "higher_is_better": "increase",
    "lower_is_better": "decrease",
    "neutral": "neutral",
}
ENGLAND = "england"


@dataclass(frozen=True)
class Rule:
    when: dict
    verdict: str
    reason: str


def _per_kpi(obs: pd.DataFrame, kpis: pd.DataFrame, column: str) -> pd.Series:
    return obs["kpi"].map(kpis[column])


# 1. Intervals ------------------------------------------------------------------------------


def add_intervals(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """95% and 99.8% intervals by each KPI's statistic; published intervals where that is all."""
    out = obs
    statistic = _per_kpi(out, kpis, "statistic").to_numpy()
    multiplier = _per_kpi(out, kpis, "multiplier").astype(float).to_numpy()
    x = out["numerator"].to_numpy(float)
    n = out["denominator"].to_numpy(float)
    for level, suffix in ((0.95, "95"), (0.998, "998")):
        lower = np.full(len(out), np.nan)
        upper = np.full(len(out), np.nan)
        method = np.full(len(out), "", dtype=object)
        mask = statistic == "proportion"
        if mask.any():
            result = proportion(x[mask], n[mask], level, multiplier[mask])
            lower[mask], upper[mask], method[mask] = result.lower, result.upper, "Wilson score"
        mask = statistic == "crude_rate"
        if mask.any():
            result = crude_rate(x[mask], n[mask], level, multiplier[mask])
            lower[mask], upper[mask], method[mask] = result.lower, result.upper, result.method
        mask = statistic == "isr"
        if mask.any():
            result = isr(x[mask], n[mask], level, refvalue=multiplier[mask])
            lower[mask], upper[mask], method[mask] = result.lower, result.upper, result.method
        mask = (statistic == "count") & ~np.isnan(x)
        if mask.any():
            low, high, how = poisson_count_bounds(x[mask], level)
            lower[mask], upper[mask], method[mask] = low, high, how
        if suffix == "95":
            published = np.isin(statistic, PUBLISHED_INTERVAL_STATISTICS)
            lower[published] = out["ci_lower"].to_numpy(float)[published]
            upper[published] = out["ci_upper"].to_numpy(float)[published]
            has = published & ~np.isnan(lower)
            method[has] = "published by the source"
            out["interval_method"] = method
        out[f"lower{suffix}"] = lower
        out[f"upper{suffix}"] = upper
    return out


# 2. Disclosure -----------------------------------------------------------------------------


def add_disclosure(
    obs: pd.DataFrame, kpis: pd.DataFrame, *, lattice: Lattice | None = None
) -> pd.DataFrame:
    """Whether the public may see each value, by the source's own rule.

    With the place ``lattice`` (published assessments only), secondary suppression follows,
    over each KPI's places and periods, so no suppressed count can be worked out from the rest.
    """
    out = obs
    out["public_suppressed"] = False
    out["suppression_reason"] = ""
    protected = np.zeros(len(out), dtype=bool)
    # KPIs sharing a statistic and a rule are disclosed together.
    groups = kpis.groupby([kpis["statistic"], kpis["rule"].map(repr)], sort=False)
    for (statistic, _), members in groups:
        rows = out[out["kpi"].isin(members.index)]
        if rows.empty:
            continue
        shown = disclose(rows, statistic=statistic, rule=members["rule"].iloc[0])
        out.loc[rows.index, "public_suppressed"] = shown["suppressed"].to_numpy()
        out.loc[rows.index, "suppression_reason"] = shown["suppression_reason"].to_numpy()
        protected[out.index.get_indexer(rows.index)] = shown["protected"].to_numpy(bool)
    if lattice is not None:
        out = add_secondary_suppression(out, kpis, lattice=lattice, protected=protected)
    return out


SECONDARY_COLUMNS = [
    "place",
    "period_start",
    "period_end",
    "numerator",
    "denominator",
    "value",
    "dimension",
    "category",
]


def add_secondary_suppression(
    obs: pd.DataFrame, kpis: pd.DataFrame, *, lattice: Lattice, protected: np.ndarray
) -> pd.DataFrame:
    """Suppress the further values from which a suppressed count could be worked out, one KPI
    at a time over all its places and periods (``kpis.disclosure.secondary_suppress``)."""
    out = obs
    columns = [c for c in SECONDARY_COLUMNS if c in out.columns]
    for code, positions in out.groupby("kpi", sort=False, observed=True).indices.items():
        kpi = kpis.loc[code]
        if kpi["statistic"] not in disclosure.ADDITIVE_STATISTICS:
            continue
        # Without a suppressed count there is nothing to protect, unless year-to-date
        # figures could rise by a small count from one period to the next.
        if kpi["time_structure"] != disclosure.CUMULATIVE and not protected[positions].any():
            continue
        rows = out.iloc[positions]
        result = secondary_suppress(
            rows[columns].assign(
                suppressed=rows["public_suppressed"].to_numpy(bool),
                suppression_reason=rows["suppression_reason"].to_numpy(object),
                protected=protected[positions],
            ),
            lattice=lattice,
            time_structure=kpi["time_structure"],
            statistic=kpi["statistic"],
            rule=kpi["rule"],
        )
        index = out.index[positions]
        out.loc[index, "public_suppressed"] = result["suppressed"].to_numpy()
        out.loc[index, "suppression_reason"] = result["suppression_reason"].to_numpy()
    return out


# 3. Segments and baselines -----------------------------------------------------------------


def add_segments(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Number each series' stretch between series breaks; nothing compares across them."""
    out = obs
    out["segment"] = 0
    for code, rows in out.groupby("kpi", sort=False):
        breaks = sorted(kpis.loc[code, "breaks"] or [])
        if breaks:
            edges = np.array([np.datetime64(b, "ns") for b in breaks])
            starts = rows["period_start"].to_numpy("datetime64[ns]")
            out.loc[rows.index, "segment"] = np.searchsorted(edges, starts, side="right")
    return out


def _canonical(label: str) -> str | None:
    try:
        return periods.parse_period(label).label
    except periods.PeriodParseError:
        return None


BASELINE_COLUMNS = [
    "series",
    "segment",
    "label",
    "period_start",
    "period_end",
    "numerator",
    "denominator",
    "value",
]


BASELINE_LABELS = {
    "financial_year_2020_21": "2020-21",
    "twelve_months_to_march_2021": "12 months to Mar 2021",
}


def add_baselines(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """The baseline of each row's series and segment, by its KPI's rule.

    1. The rule's own period (2020-21; 12 months to March 2021; the stated pooled period),
       taken as published or, for sub-annual discrete KPIs, derived as the 2020-21 total.
    2. Otherwise (no such value, or a series break after it) the segment's first period,
       flagged as first available.
    """
    out = obs
    rule = _per_kpi(out, kpis, "baseline_rule")
    wanted = rule.map(BASELINE_LABELS)
    pooled = rule == "pooled_period"
    if pooled.any():
        labels = _per_kpi(out, kpis, "baseline_label")[pooled].map(_canonical)
        wanted[pooled] = labels
    candidates = out[out["label"] == wanted][BASELINE_COLUMNS]
    derived = _derived_2020_21(out, kpis)
    candidates = pd.concat([candidates, derived], ignore_index=True)
    candidates = candidates.drop_duplicates(["series", "segment"], keep="first")
    firsts = (
        out.sort_values("period_end")
        .drop_duplicates(["series", "segment"], keep="first")[BASELINE_COLUMNS]
        .assign(first_available=True)
    )
    chosen = pd.concat([candidates.assign(first_available=False), firsts], ignore_index=True)
    chosen = chosen.drop_duplicates(["series", "segment"], keep="first").rename(
        columns={
            "label": "baseline_label",
            "period_start": "baseline_start",
            "period_end": "baseline_end",
            "numerator": "baseline_numerator",
            "denominator": "baseline_denominator",
            "value": "baseline_value",
        }
    )
    out = out.merge(chosen, on=["series", "segment"], how="left")
    for column in ("baseline_start", "baseline_end"):
        out[column] = pd.to_datetime(out[column])
    out["baseline_first_available"] = out["first_available"].fillna(False).astype(bool)
    out = out.drop(columns="first_available")
    pandemic_start = np.datetime64(periods.PANDEMIC_AFFECTED.start, "ns")
    pandemic_end = np.datetime64(periods.PANDEMIC_AFFECTED.end, "ns")
    out["baseline_pandemic_affected"] = (out["baseline_start"] <= pandemic_end) & (
        out["baseline_end"] >= pandemic_start
    )
    return out


def _derived_2020_21(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """2020-21 totals derived from the sub-annual periods of discrete and period-end KPIs."""
    pieces = []
    rule = _per_kpi(obs, kpis, "baseline_rule")
    eligible = obs[(rule == "financial_year_2020_21") & (obs["segment"] == 0)]
    eligible = eligible[
        (eligible["period_end"] <= pd.Timestamp("2021-03-31"))
        & (eligible["period_start"] >= pd.Timestamp("2020-04-01"))
    ]
    # KPIs sharing a time structure and multiplier are derived together, all series at once.
    structure = eligible["kpi"].map(kpis["time_structure"]).astype(str)
    multiplier = eligible["kpi"].map(kpis["multiplier"]).astype(float)
    for (time_structure, factor), rows in eligible.groupby([structure, multiplier], sort=False):
        if time_structure.startswith("pooled"):
            continue
        years = derive(
            rows, time_structure=time_structure, to=periods.FINANCIAL_YEAR, multiplier=factor
        )
        years = years[years["label"] == "2020-21"]
        if years.empty:
            continue
        pieces.append(
            years.assign(
                segment=0,
                period_start=pd.Timestamp("2020-04-01"),
                period_end=pd.Timestamp("2021-03-31"),
            )[BASELINE_COLUMNS]
        )
    if not pieces:
        return pd.DataFrame(columns=BASELINE_COLUMNS)
    return pd.concat(pieces, ignore_index=True)


# 4. Change since baseline ------------------------------------------------------------------


def _months(start: pd.Series, end: pd.Series) -> np.ndarray:
    return ((end.dt.year - start.dt.year) * 12 + end.dt.month - start.dt.month + 1).to_numpy(float)


def add_change(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Change from the baseline with its interval; not tested where periods overlap."""
    out = obs
    size = len(out)
    statistic = _per_kpi(out, kpis, "statistic").to_numpy()
    multiplier = _per_kpi(out, kpis, "multiplier").astype(float).to_numpy()
    change = np.full(size, np.nan)
    lower = np.full(size, np.nan)
    upper = np.full(size, np.nan)
    method = np.full(size, "", dtype=object)
    null_value = np.zeros(size)
    x1, n1 = out["numerator"].to_numpy(float), out["denominator"].to_numpy(float)
    x2 = out["baseline_numerator"].to_numpy(float)
    n2 = out["baseline_denominator"].to_numpy(float)
    mask = statistic == "proportion"
    if mask.any():
        result = newcombe_difference(x1[mask], n1[mask], x2[mask], n2[mask])
        change[mask] = result.value * multiplier[mask]
        lower[mask] = result.lower * multiplier[mask]
        upper[mask] = result.upper * multiplier[mask]
        method[mask] = "difference, Newcombe hybrid score"
    # Counts are compared per month of the period, so a month compares with a year.
    exposure_now = _months(out["period_start"], out["period_end"])
    exposure_base = _months(out["baseline_start"], out["baseline_end"])
    count = statistic == "count"
    n1 = np.where(count, exposure_now, n1)
    n2 = np.where(count, exposure_base, n2)
    if count.any():
        x1 = np.where(count, np.where(np.isnan(x1), out["value"].to_numpy(float), x1), x1)
        base_value = out["baseline_value"].to_numpy(float)
        x2 = np.where(count, np.where(np.isnan(x2), base_value, x2), x2)
    mask = np.isin(statistic, RATIO_STATISTICS) & (x1 >= 0) & (x2 >= 0) & (n1 > 0) & (n2 > 0)
    if mask.any():
        result = rate_ratio(x1[mask], n1[mask], x2[mask], n2[mask])
        change[mask], lower[mask], upper[mask] = result.value, result.lower, result.upper
        method[mask] = "rate ratio, " + result.method.astype(object)
        null_value[mask] = 1.0
    mask = np.isin(statistic, PUBLISHED_INTERVAL_STATISTICS)
    if mask.any():
        base = out.set_index(["series", "label"])[["ci_lower", "ci_upper"]]
        keys = pd.MultiIndex.from_arrays([out["series"], out["baseline_label"]])
        base_ci = base.reindex(keys)
        result = difference_from_intervals(
            out["value"].to_numpy(float)[mask],
            out["ci_lower"].to_numpy(float)[mask],
            out["ci_upper"].to_numpy(float)[mask],
            out["baseline_value"].to_numpy(float)[mask],
            base_ci["ci_lower"].to_numpy(float)[mask],
            base_ci["ci_upper"].to_numpy(float)[mask],
        )
        change[mask], lower[mask], upper[mask] = result.value, result.lower, result.upper
        method[mask] = result.method
    overlapping = (out["period_start"] <= out["baseline_end"]).to_numpy() & (
        out["period_end"] >= out["baseline_start"]
    ).to_numpy()
    verdict = classify_change(lower - null_value, upper - null_value, overlapping=overlapping)
    category = np.asarray(verdict.category, dtype=object)
    reason = np.asarray(verdict.reason, dtype=object)
    at_baseline = (out["label"] == out["baseline_label"]).to_numpy()
    reason[at_baseline] = "this is the baseline period"
    category[at_baseline] = "not_tested"
    sign = (
        _per_kpi(out, kpis, "direction")
        .map({"higher_is_better": 1, "lower_is_better": -1, "neutral": 0})
        .to_numpy()
    )
    direction = np.select(
        [
            (category == "significant_increase") & (sign > 0),
            (category == "significant_decrease") & (sign < 0),
            (category == "significant_increase") & (sign < 0),
            (category == "significant_decrease") & (sign > 0),
        ],
        ["better", "better", "worse", "worse"],
        "",
    )
    out["change"], out["change_lower"], out["change_upper"] = change, lower, upper
    out["change_method"] = method
    out["change_category"] = category
    out["change_reason"] = reason
    out["change_direction"] = direction
    return out


# 5. Benchmarks -----------------------------------------------------------------------------


#: Fingertips' "Compared to England" words, as the service's own comparison words.
SOURCE_COMPARISONS = {
    "better 95%": "better_95",
    "better 99.8%": "better_99_8",
    "similar": "similar",
    "worse 95%": "worse_95",
    "worse 99.8%": "worse_99_8",
}


def add_benchmarks(obs: pd.DataFrame, kpis: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Compare each place with England and with the rest of SET, at 95% and 99.8%.

    The rest of SET is the SET total on the same basis minus the place itself: a place that
    is most of SET would otherwise always look similar to it.
    """
    out = obs
    direction = _per_kpi(out, kpis, "direction").to_numpy()
    # Like is compared with like: a breakdown (65 and over) with the same breakdown elsewhere.
    group = (
        out["dimension"].astype(str) + ":" + out["category"].astype(str)
        if "dimension" in out
        else pd.Series("all:all", index=out.index)
    )
    keyed = out.assign(_group=group)
    england = keyed[keyed["place"] == ENGLAND].set_index(["kpi", "label", "_group"])["value"]
    keys = pd.MultiIndex.from_arrays([out["kpi"], out["label"], group])
    bench = england.reindex(keys).to_numpy(float)
    out["benchmark_england"] = _compare(out, bench, direction)
    out.loc[out["place"] == ENGLAND, "benchmark_england"] = ""
    # Where the service cannot compare (no interval, no England value), the publisher's own
    # comparison stands in, and says whose it is.
    theirs = (
        out["source_comparison"].astype(str).str.strip().str.casefold().map(SOURCE_COMPARISONS)
        if "source_comparison" in out
        else pd.Series(np.nan, index=out.index)
    )
    by_source = (out["benchmark_england"] == "") & theirs.notna() & (out["place"] != ENGLAND)
    out.loc[by_source, "benchmark_england"] = theirs[by_source]
    out["benchmark_england_by_source"] = by_source.to_numpy()
    total = out["place"].map(places["total"])
    statistic = _per_kpi(out, kpis, "statistic")
    eligible = total.notna() & (total != out["place"]) & statistic.isin(ADDITIVE_STATISTICS)
    totals = keyed.set_index(["kpi", "label", "place", "_group"])[["numerator", "denominator"]]
    total_keys = pd.MultiIndex.from_arrays([out["kpi"], out["label"], total.fillna(""), group])
    total_values = totals.reindex(total_keys)
    rest_numerator = total_values["numerator"].to_numpy(float) - out["numerator"].to_numpy(float)
    rest_denominator = total_values["denominator"].to_numpy(float) - out["denominator"].to_numpy(
        float
    )
    multiplier = _per_kpi(out, kpis, "multiplier").astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = np.where(
            rest_denominator > 0, rest_numerator / rest_denominator * multiplier, np.nan
        )
    rest[~eligible.to_numpy()] = np.nan
    out["rest_of_set_value"] = rest
    out["benchmark_rest_of_set"] = _compare(out, rest, direction)
    return out


def _compare(out: pd.DataFrame, benchmark: np.ndarray, direction: np.ndarray) -> np.ndarray:
    result = np.full(len(out), "", dtype=object)
    usable = ~np.isnan(benchmark) & ~np.isnan(out["lower95"].to_numpy(float))
    if usable.any():
        result[usable] = compare_to_benchmark_two_levels(
            out["lower95"].to_numpy(float)[usable],
            out["upper95"].to_numpy(float)[usable],
            out["lower998"].to_numpy(float)[usable],
            out["upper998"].to_numpy(float)[usable],
            benchmark[usable],
            direction[usable],
        )
    return result


# 6. SPC ------------------------------------------------------------------------------------


def add_spc(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """XmR limits per series and period type; a series break starts new limits; refusals carry
    their reason.

    A monthly KPI may also hold financial-year values (from an annual report): each period type
    is its own chart, so a year never sits among the months it sums.
    """
    out = obs.assign(_type=obs["period_type"] if "period_type" in obs else "")
    out = out.sort_values(["series", "_type", "period_end"]).reset_index(drop=True)
    chart = out["series"].astype(str) + "|" + out["_type"].astype(str)
    first_of_segment = out["segment"] != out.groupby(chart)["segment"].shift(1)
    out["rebase"] = first_of_segment & chart.eq(chart.shift(1))
    out["_chart"] = chart
    threshold = _per_kpi(out, kpis, "target_kind") == "threshold"
    target = _per_kpi(out, kpis, "target_value").astype(float).where(threshold)
    statistic = _per_kpi(out, kpis, "statistic")
    missing = out["value"].isna() | out["source_suppressed"].astype(bool)
    spc_input = out.assign(
        _value=out["value"].astype(float).where(~missing),
        _missing=missing,
        _denominator=out["denominator"].astype(float).where(statistic == "proportion"),
        _order=out["period_end"],
    )
    fix = spc_input["fix_after_n_points"]
    with warnings.catch_warnings():
        # Trial limits are flagged on each row (spc_trial_limits) rather than warned about.
        warnings.simplefilter("ignore", SpcTrialLimitsWarning)
        points = spc_frame(
            spc_input,
            series_key="_chart",
            order="_order",
            value="_value",
            improvement_direction=_per_kpi(out, kpis, "direction").map(SPC_DIRECTIONS).to_numpy(),
            target=target.to_numpy(float),
            time_structure=_per_kpi(out, kpis, "time_structure").to_numpy(),
            fix_after_n_points=None if fix.isna().all() else fix.to_numpy(float),
            rebase="rebase",
            missing="_missing",
            denominator="_denominator",
            not_applicable="mark",
        )
    out["spc_mean"] = points["mean"].to_numpy(float)
    out["spc_lower_limit"] = points["lpl"].to_numpy(float)
    out["spc_upper_limit"] = points["upl"].to_numpy(float)
    out["spc_point_type"] = _text(points["point_type"])
    out["spc_special_cause"] = _text(points["special_cause_type"])
    out["spc_trial_limits"] = points["trial_limits"].fillna(False).astype(bool).to_numpy()
    out["spc_reason"] = _text(points["not_applicable_reason"])
    out["assurance"] = _text(points["assurance"])
    return out.drop(columns=["rebase", "_chart", "_type"])


def _text(column) -> np.ndarray:
    return pd.Series(column).astype(object).where(pd.Series(column).notna(), "").to_numpy()


# 7. Progress to target ---------------------------------------------------------------------


def add_progress(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Distance achieved for a value-by-date target; share of periods met for a standard."""
    out = obs
    kind = _per_kpi(out, kpis, "target_kind").fillna("")
    target = _per_kpi(out, kpis, "target_value").astype(float)
    applies_from = pd.to_datetime(_per_kpi(out, kpis, "target_applies_from"))
    direction = _per_kpi(out, kpis, "direction").to_numpy()
    out["target_kind"] = kind.to_numpy()
    out["target_value"] = target.where(kind != "").to_numpy(float)
    share = np.full(len(out), np.nan)
    status = np.full(len(out), "", dtype=object)
    by_date = (kind == "value_by_date").to_numpy()
    if by_date.any():
        result = distance_achieved(
            out["baseline_value"].to_numpy(float)[by_date],
            out["value"].to_numpy(float)[by_date],
            target.to_numpy(float)[by_date],
            direction[by_date],
        )
        share[by_date] = result.share
        status[by_date] = result.status
    planned = np.full(len(out), np.nan)
    due = pd.to_datetime(_per_kpi(out, kpis, "target_due"))
    if by_date.any():
        planned[by_date] = planned_trajectory(
            out["baseline_value"].to_numpy(float)[by_date],
            out["baseline_end"][by_date],
            target.to_numpy(float)[by_date],
            due[by_date],
            out["period_end"][by_date],
        )
        status = _with_projection(out, by_date, due, target, direction, status)
    out["progress_share"] = share
    out["progress_status"] = status
    out["planned_value"] = planned
    standard = (kind == "threshold") & (applies_from.isna() | (out["period_start"] >= applies_from))
    sign = pd.Series(direction).map({"higher_is_better": 1, "lower_is_better": -1}).to_numpy()
    values = out["value"].to_numpy(float)
    met = np.where(sign < 0, values <= target.to_numpy(float), values >= target.to_numpy(float))
    counted = standard.to_numpy() & ~np.isnan(values) & ~np.isnan(sign.astype(float))
    ordered = out.assign(_met=met & counted, _counted=counted).sort_values(["series", "period_end"])
    running = ordered.groupby("series")[["_met", "_counted"]].cumsum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = running["_met"] / running["_counted"].where(running["_counted"] > 0)
    out["periods_met_share"] = ratio.reindex(out.index).where(standard).to_numpy(float)
    return out


def _with_projection(out, by_date, due, target, direction, status):
    """On each series' latest row, project the trend to the due date with its interval.

    A projection whose prediction interval lies wholly on one side of the target says
    "projected to meet" or "projected to miss"; otherwise the distance status stands.
    """
    out["trend_projection"] = np.nan
    out["trend_lower"] = np.nan
    out["trend_upper"] = np.nan
    rows = out[by_date & due.notna().to_numpy() & out["value"].notna().to_numpy()]
    rows = rows[rows["segment"] == rows.groupby("series")["segment"].transform("max")]
    if rows.empty:
        return status
    due_by_series = due[rows.index].groupby(rows["series"]).first()
    fit = trend_projection_frame(rows, "series", "period_end", "value", due_by_series)
    fit = fit.set_index("series")
    latest = out.index[
        by_date & (out["period_end"] == out.groupby("series")["period_end"].transform("max"))
    ]
    latest = latest[out.loc[latest, "series"].isin(fit.index)]
    if latest.empty:
        return status
    series = out.loc[latest, "series"]
    for column, source in (
        ("trend_projection", "projected"),
        ("trend_lower", "lower"),
        ("trend_upper", "upper"),
    ):
        out.loc[latest, column] = fit[source].reindex(series).to_numpy()
    decided = projection_status(
        out.loc[latest, "trend_lower"].to_numpy(float),
        out.loc[latest, "trend_upper"].to_numpy(float),
        target[latest].to_numpy(float),
        direction[latest.to_numpy()],
    )
    decisive = np.isin(decided, ["projected_to_meet", "projected_to_miss"])
    positions = np.asarray(latest)[decisive]
    status[positions] = decided[decisive]
    return status


# 8. Threshold standards --------------------------------------------------------------------


STANDARD_MET = "met"
STANDARD_NOT_MET = "not_met"
STANDARD_NOT_SIGNIFICANTLY_DIFFERENT = "not_significantly_different"
STANDARD_MET_NO_INTERVAL = "met_no_interval"
STANDARD_NOT_MET_NO_INTERVAL = "not_met_no_interval"


def add_standards(obs: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Each period's value against the threshold standard in force for it, with the words the
    verdict rules quote: "{standard_shortfall} the standard of {standard_text}" reads "Below
    the standard of 50%" ("Above" where lower is better)."""
    out = obs
    kind = _per_kpi(out, kpis, "target_kind").fillna("")
    applies_from = pd.to_datetime(_per_kpi(out, kpis, "target_applies_from"))
    in_force = (
        (kind == "threshold") & (applies_from.isna() | (out["period_start"] >= applies_from))
    ).to_numpy()
    sign = (
        _per_kpi(out, kpis, "direction")
        .map({"higher_is_better": 1, "lower_is_better": -1})
        .astype(float)
        .to_numpy()
    )
    target = _per_kpi(out, kpis, "target_value").astype(float).to_numpy()
    out["standard_status"] = _compare_with_standard(out, in_force, sign, target)
    text = out["kpi"].map(_standard_text(kpis)).astype(object).to_numpy()
    out["standard_text"] = np.where(in_force, text, "").astype(object)
    out["standard_shortfall"] = np.select(
        [in_force & (sign > 0), in_force & (sign < 0)], ["Below", "Above"], ""
    ).astype(object)
    return out


def _compare_with_standard(
    out: pd.DataFrame, in_force: np.ndarray, direction: np.ndarray, goal: np.ndarray
) -> np.ndarray:
    """Each period's value against the threshold standard in force for it, allowing for chance.

    1. No standard in force for the period (none, or its applies_from is after the period
       starts), no value, or no direction of improvement: "" (nothing to say).
    2. With a 95% interval: "met" when the whole interval is at or beyond the standard in the
       improvement direction, "not_met" when the whole interval falls short of it, otherwise
       "not_significantly_different" (the standard lies inside the interval).
    3. Without an interval (say a count with no denominator and no published interval), the
       value itself is compared: "met_no_interval" or "not_met_no_interval".
    """
    values = out["value"].to_numpy(float)
    lower = out["lower95"].to_numpy(float)
    upper = out["upper95"].to_numpy(float)
    usable = in_force & ~np.isnan(values) & ~np.isnan(goal) & ~np.isnan(direction)
    interval = ~np.isnan(lower) & ~np.isnan(upper)
    # The interval's ends nearest and furthest from the standard's good side.
    worst = np.where(direction < 0, upper, lower)
    best = np.where(direction < 0, lower, upper)
    with np.errstate(invalid="ignore"):
        all_meet = (worst - goal) * direction >= 0
        none_meet = (best - goal) * direction < 0
        value_meets = (values - goal) * direction >= 0
    status = np.select(
        [~usable, interval & all_meet, interval & none_meet, interval, value_meets],
        [
            "",
            STANDARD_MET,
            STANDARD_NOT_MET,
            STANDARD_NOT_SIGNIFICANTLY_DIFFERENT,
            STANDARD_MET_NO_INTERVAL,
        ],
        STANDARD_NOT_MET_NO_INTERVAL,
    )
    return status.astype(object)


def _standard_text(kpis: pd.DataFrame) -> pd.Series:
    """Each KPI's standard as the public reads it in a sentence: "50%", "12 per 100,000"."""
    words = {}
    for code, kpi in kpis.iterrows():
        number, factor = float(kpi["target_value"]), float(kpi["multiplier"])
        if np.isnan(number):
            words[code] = ""
        elif kpi["statistic"] == "proportion" and factor == 100:
            words[code] = f"{number:,g}%"
        elif kpi["statistic"] in ("crude_rate", "dsr") and factor not in (1, 100):
            words[code] = f"{number:,g} per {factor:,g}"
        else:
            words[code] = f"{number:,g}"
    return pd.Series(words, dtype=object)


# 9. Assessability and verdicts -------------------------------------------------------------


def add_assessability(
    obs: pd.DataFrame, kpis: pd.DataFrame, places: pd.DataFrame, *, as_of: date
) -> pd.DataFrame:
    """Whether a verdict can be given, and if not the first reason why."""
    out = obs
    latest_end = out.groupby("series")["period_end"].transform("max")
    out["is_latest"] = out["period_end"] == latest_end
    lag = _per_kpi(out, kpis, "lag_days").fillna(90).astype(float).to_numpy()
    length = (out["period_end"] - out["period_start"]).dt.days.to_numpy(float)
    expected_by = out["period_end"].to_numpy("datetime64[ns]") + (
        (lag + length + 90) * 86400e9
    ).astype("timedelta64[ns]")
    overdue = out["is_latest"].to_numpy() & (expected_by < np.datetime64(as_of, "ns"))
    ended = out["place"].map(places["valid_to"]).notna().to_numpy()
    stale = overdue & ~ended
    segment_points = out.groupby(["series", "segment"])["value"].transform("count").to_numpy()
    # A threshold standard gives something to compare with only in the periods it is in force,
    # and needs no earlier point: a lone value after a series break is still held to it.
    judged_by_standard = (out["standard_status"] != "").to_numpy()
    nothing_to_compare = (
        (out["change_category"] == "not_tested").to_numpy()
        & (out["spc_point_type"] == "").to_numpy()
        & ~judged_by_standard
        & (out["target_kind"] != "value_by_date").to_numpy()
    )
    conditions = [
        out["source_suppressed"].astype(bool).to_numpy(),
        out["value"].isna().to_numpy(),
        stale,
        (out["segment"] > 0).to_numpy() & (segment_points < 2) & ~judged_by_standard,
        nothing_to_compare,
    ]
    reasons = [
        "suppressed by the source",
        "no value for this period",
        "stale data: a newer period should have been published",
        "series break: too few points since the break",
        "too few points: nothing to compare with yet",
    ]
    detail = (
        "nothing to compare with: change "
        + out["change_reason"].replace("", "not tested").astype(str)
        + "; SPC "
        + out["spc_reason"].replace("", "not available").astype(str)
    ).to_numpy()
    reasons[-1] = detail
    out["cannot_assess_reason"] = np.select(conditions, reasons, "").astype(object)
    out["assessable"] = out["cannot_assess_reason"] == ""
    out["benchmark_worse"] = (out["benchmark_rest_of_set"] == "worse_99_8") | (
        out["benchmark_england"] == "worse_99_8"
    )
    return out


def apply_rules(frame: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """The first rule whose conditions all hold gives each row its verdict and reason."""
    out = frame.copy()
    verdict = pd.Series("", index=out.index, dtype=object)
    reason = pd.Series("", index=out.index, dtype=object)
    for rule in rules:
        match = verdict == ""
        for column, allowed in rule.when.items():
            match &= out[column].isin(list(allowed))
        verdict[match] = rule.verdict
        reason[match] = _fill(rule.reason, out.loc[match])
    out["verdict"] = verdict.replace("", "no_significant_change")
    out["verdict_reason"] = reason
    return out


def _fill(template: str, rows: pd.DataFrame) -> pd.Series:
    """Fill "{column}" placeholders from each row's own columns, vectorised."""
    parts = re.split(r"{(\w+)}", template)
    text = pd.Series(parts[0], index=rows.index, dtype=object)
    for i in range(1, len(parts), 2):
        text = text + rows[parts[i]].astype(str) + parts[i + 1]
    return text


def assess(
    obs: pd.DataFrame,
    kpis: pd.DataFrame,
    places: pd.DataFrame,
    rules: list[Rule],
    *,
    as_of: date,
    lattice: Lattice | None = None,
) -> pd.DataFrame:
    """Every step above, in order, for all series in ``obs``.

    ``lattice`` (each place's basis and areas) is given for published assessments only: it
    turns on secondary suppression. Internal assessments, for the group, carry only each
    value's own (primary) suppression.
    """
    if obs.empty:
        return obs.assign(verdict=pd.Series(dtype=object))
    frame = obs.reset_index(drop=True)
    # Per-row lookups of KPI attributes map categories, not a million strings.
    frame["kpi"] = frame["kpi"].astype("category")
    frame = add_intervals(frame, kpis)
    frame = add_disclosure(frame, kpis, lattice=lattice)
    frame = add_segments(frame, kpis)
    frame = add_baselines(frame, kpis)
    frame = add_change(frame, kpis)
    frame = add_benchmarks(frame, kpis, places)
    frame = add_spc(frame, kpis)
    frame = add_progress(frame, kpis)
    frame = add_standards(frame, kpis)
    frame = add_assessability(frame, kpis, places, as_of=as_of)
    return apply_rules(frame, rules)
