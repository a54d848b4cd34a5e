"""Benchmark the statistics engine over many series at once; prints figures, asserts nothing.

Generates (deterministically) SERIES x PERIODS proportion observations: KPIs reported by four
places, so every (KPI, period) has a "SET excluding the place" benchmark. Then times:

1. Wilson intervals at 95% and 99.8% for every observation;
2. benchmark comparison: SET-minus-place benchmark and two-level Fingertips categories;
3. SPC: the vectorised multi-series XmR (limits, all four rules, point types) and its summary.

Run:  .venv/bin/python bench/stats_recompute.py [--series 10000] [--periods 100] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpis.stats import (  # noqa: E402
    compare_to_benchmark_two_levels,
    exclude_place_frame,
    proportion,
    spc_frame,
    spc_summary,
)

PLACES = ("southend", "essex_north", "essex_mid_south", "thurrock")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")


def generate(series: int, periods: int, seed: int) -> pd.DataFrame:
    """Return series x periods rows of numerators and denominators, with steps and gaps."""
    rng = np.random.default_rng(seed)
    series_id = np.repeat(np.arange(series), periods)
    period = np.tile(np.arange(periods), series)
    base = rng.beta(20, 20, size=series)[series_id]
    stepped = rng.random(series) < 0.2  # a fifth of the series shift by 5 points at period 60
    shift = np.where(stepped[series_id] & (period >= 60), 0.05, 0.0)
    denominator = rng.poisson(400, size=series * periods) + 30
    numerator = rng.binomial(denominator, np.clip(base + shift, 0.01, 0.99)).astype(float)
    numerator[rng.random(series * periods) < 0.005] = np.nan  # 0.5% of periods missing
    return pd.DataFrame(
        {
            "series": series_id,
            "kpi": series_id // len(PLACES),
            "place": np.asarray(PLACES)[series_id % len(PLACES)],
            "period": period,
            "numerator": numerator,
            "denominator": denominator.astype(float),
            "direction": np.asarray(DIRECTIONS)[(series_id // len(PLACES)) % len(DIRECTIONS)],
        }
    )


def wilson_stage(frame: pd.DataFrame) -> pd.DataFrame:
    """Add proportion and its 95% and 99.8% Wilson limits."""
    p95 = proportion(frame["numerator"], frame["denominator"])
    p998 = proportion(frame["numerator"], frame["denominator"], confidence=0.998)
    return frame.assign(
        value=p95.value,
        lower95=p95.lower,
        upper95=p95.upper,
        lower998=p998.lower,
        upper998=p998.upper,
    )


def benchmark_stage(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the SET-excluding-place benchmark and the two-level comparison with it."""
    rest = exclude_place_frame(frame, ["kpi", "period"], "numerator", "denominator")
    benchmark = rest["rest_numerator"] / rest["rest_denominator"]
    category = compare_to_benchmark_two_levels(
        frame["lower95"],
        frame["upper95"],
        frame["lower998"],
        frame["upper998"],
        benchmark,
        frame["direction"].to_numpy(),
    )
    return frame.assign(benchmark=benchmark, comparison=category)


def spc_stage(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return per-point SPC results and the per-series summary."""
    points = spc_frame(
        frame,
        series_key="series",
        order="period",
        value="value",
        improvement_direction=frame["direction"].to_numpy(),  # first row of each series
        target=0.5,
        denominator="denominator",
    )
    return points, spc_summary(points, "series")


def timed(label: str, observations: int, work: Callable[[], object]) -> tuple[object, float]:
    """Run work once, print its throughput, and return its result and seconds."""
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"{label:<22}{seconds:8.2f} s {observations / seconds:14,.0f} observations/s")
    return result, seconds


def main() -> None:
    """Parse arguments, run the stages and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20230401)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python peaks")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    observations = args.series * args.periods
    print(f"{args.series:,} series x {args.periods} periods = {observations:,} observations")
    frame, _ = timed(
        "generate (not counted)",
        observations,
        lambda: generate(args.series, args.periods, args.seed),
    )
    frame, wilson_s = timed("wilson 95% + 99.8%", observations, lambda: wilson_stage(frame))
    frame, compare_s = timed("benchmark comparison", observations, lambda: benchmark_stage(frame))
    (points, summary), spc_s = timed("spc (multi-series)", observations, lambda: spc_stage(frame))
    total = wilson_s + compare_s + spc_s
    print(f"{'overall':<22}{total:8.2f} s {observations / total:14,.0f} observations/s")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS (ru_maxrss)  {peak_mib:,.0f} MiB")
    if args.tracemalloc:
        print(f"tracemalloc peak      {tracemalloc.get_traced_memory()[1] / 2**20:,.0f} MiB")
    counts = points["point_type"].value_counts().to_dict()
    print(f"point types: {counts}")
    print(f"comparisons: {frame['comparison'].value_counts().to_dict()}")
    print(f"series on trial limits: {int(summary['trial_limits'].sum())}")


if __name__ == "__main__":
    main()
