"""Benchmark: the whole assessment pipeline over 1,000,000 observations.

10,000 series (100 KPIs x 100 places) of 100 monthly periods each, with a SET total per KPI
for the rest-of-SET benchmark, run through kpis.assessment.assess exactly as the progress
engine runs it (intervals, disclosure, baselines, change, benchmarks, SPC, progress, verdicts).
Prints observations per second and peak memory. Database reads and writes are not included.

    .venv/bin/python bench/progress_recompute.py [--kpis 100] [--places 100] [--periods 100]
"""

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "setset.settings.local")

from kpis import periods  # noqa: E402
from kpis.assessment import Rule, assess  # noqa: E402
from kpis.disclosure import Rule as DisclosureRule  # noqa: E402


def build(kpis: int, places: int, n_periods: int, seed: int):
    rng = np.random.default_rng(seed)
    months = [periods.month(2017 + (3 + i) // 12, (3 + i) % 12 + 1) for i in range(n_periods)]
    starts = pd.to_datetime([m.start for m in months])
    ends = pd.to_datetime([m.end for m in months])
    labels = np.array([m.label for m in months], dtype=object)
    place_codes = [f"p{j}" for j in range(places)]
    n_series = kpis * places
    series = np.repeat(np.arange(n_series), n_periods)
    kpi = np.repeat(np.array([f"K{i}" for i in range(kpis)], dtype=object), places * n_periods)
    place = np.tile(np.repeat(np.array(place_codes, dtype=object), n_periods), kpis)
    denominator = rng.poisson(200, n_series * n_periods).astype(float) + 1
    p = np.repeat(rng.uniform(0.3, 0.8, n_series), n_periods)
    numerator = rng.binomial(denominator.astype(int), p).astype(float)
    frame = pd.DataFrame(
        {
            "series": series,
            "period": np.tile(np.arange(n_periods), n_series),
            "kpi": kpi,
            "place": place,
            "label": np.tile(labels, n_series),
            "period_start": np.tile(starts, n_series),
            "period_end": np.tile(ends, n_series),
            "numerator": numerator,
            "denominator": denominator,
            "value": numerator / denominator * 100,
            "source_suppressed": False,
            "ci_lower": np.nan,
            "ci_upper": np.nan,
            "fix_after_n_points": np.nan,
        }
    )
    totals = (
        frame.groupby(["kpi", "period"], sort=False)
        .agg(
            label=("label", "first"),
            period_start=("period_start", "first"),
            period_end=("period_end", "first"),
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
        )
        .reset_index()
    )
    totals["series"] = n_series + totals["kpi"].str[1:].astype(int)
    totals["place"] = "set"
    totals["value"] = totals["numerator"] / totals["denominator"] * 100
    totals[["source_suppressed", "ci_lower", "ci_upper", "fix_after_n_points"]] = [
        False,
        np.nan,
        np.nan,
        np.nan,
    ]
    frame = pd.concat([frame, totals[frame.columns]], ignore_index=True)
    kpi_frame = pd.DataFrame(
        {
            "statistic": "proportion",
            "multiplier": 100.0,
            "direction": "higher_is_better",
            "time_structure": "discrete",
            "baseline_rule": "financial_year_2020_21",
            "baseline_label": "2020-21",
            "breaks": [[] for _ in range(kpis)],
            "target_kind": ["threshold" if i % 2 else None for i in range(kpis)],
            "target_value": 55.0,
            "target_applies_from": None,
            "target_due": None,
            "lag_days": 60,
            "rule": [DisclosureRule(min_count=5, rounding_base=5, zero_shown=False)] * kpis,
        },
        index=pd.Index([f"K{i}" for i in range(kpis)], name="code"),
    )
    place_frame = pd.DataFrame(
        {"total": "set", "is_total": False, "valid_to": None},
        index=pd.Index([*place_codes, "set"], name="code"),
    )
    place_frame.loc["set", "is_total"] = True
    return frame, kpi_frame, place_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kpis", type=int, default=100)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--periods", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    frame, kpis, places = build(args.kpis, args.places, args.periods, args.seed)
    rules = [
        Rule({"assessable": [False]}, "cannot_assess", "{cannot_assess_reason}"),
        Rule({"assurance": ["consistent_fail"]}, "off_track", "fails"),
        Rule({"spc_point_type": ["special_cause_concern"]}, "needs_attention", "concern"),
        Rule({}, "no_significant_change", "none"),
    ]
    started = time.perf_counter()
    result = assess(frame, kpis, places, rules, as_of=date(2025, 9, 30))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"observations: {len(frame):,} in {args.kpis * args.places + args.kpis:,} series")
    print(f"assessed in {elapsed:.2f} s: {len(frame) / elapsed:,.0f} observations per second")
    print(f"peak memory (RSS): {peak:,.0f} MiB")
    print("verdicts:", result["verdict"].value_counts().to_dict())


if __name__ == "__main__":
    main()
