"""Benchmark reading and validating a large CSV return; prints figures, asserts nothing.

Generates (deterministically) a long-form CSV of ROWS rows: KPIs of every statistic x places x
months x breakdowns, consistent figures (value = numerator / denominator x multiplier), with a
share of suppression markers and a share of rows carrying errors (unknown codes, bad numbers,
mismatched values, duplicates) so that issue reporting is timed too. Then times read_return and
validate_return, and prints rows per second and peak memory.

Run:  .venv/bin/python bench/returns_validate.py [--rows 1000000] [--error-rate 0.001]
      [--tracemalloc]
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# As the product runs (kpis.apps): strings on Python storage, not Arrow.
pd.set_option("mode.string_storage", "python")

from kpis.periods import month  # noqa: E402
from kpis.returns.read import read_return  # noqa: E402
from kpis.returns.spec import COLUMNS, KpiSpec, PlaceSpec, ReturnContext  # noqa: E402
from kpis.returns.validate import validate_return  # noqa: E402

STATISTICS = [
    ("proportion", 100.0, 0.0, 100.0),
    ("crude_rate", 100_000.0, 0.0, None),
    ("count", 1.0, 0.0, None),
    ("survey_estimate", 100.0, 0.0, 100.0),
    ("pp_gap", 1.0, -100.0, 100.0),
    ("score", 1.0, 0.0, 10.0),
]
BREAKDOWNS = [
    "",
    "sex:female",
    "sex:male",
    "age_band:0-17",
    "age_band:18-64",
    "age_band:65+",
    "ethnic_group:asian",
    "ethnic_group:black",
    "ethnic_group:white",
    "ethnic_group:mixed",
]


def context(kpis: int, places: int, periods: list[str], rows: int) -> ReturnContext:
    specs = {}
    for k in range(kpis):
        statistic, multiplier, low, high = STATISTICS[k % len(STATISTICS)]
        code = f"KPI-{k:03d}"
        specs[code] = KpiSpec(
            code, statistic, multiplier, low, high, ("sex", "age_band", "ethnic_group"), True
        )
    place_specs = {
        f"place_{p:02d}": PlaceSpec(f"place_{p:02d}", {"all": 500_000, "65+": 100_000})
        for p in range(places)
    }
    return ReturnContext(
        kpis=specs,
        places=place_specs,
        reportable_places=frozenset(place_specs),
        period_status={label: "open" for label in periods},
        max_rows=rows + 1,
        max_bytes=2_000_000_000,
    )


KPIS, PLACES = 100, 20


def _periods(rows: int) -> list[str]:
    months = max(1, -(-rows // (KPIS * PLACES * len(BREAKDOWNS))))
    return [month(2000 + i // 12, i % 12 + 1).label for i in range(months)]


def _context_for(rows: int) -> ReturnContext:
    return context(KPIS, PLACES, _periods(rows), rows)


def generate(rows: int, error_rate: float, seed: int) -> tuple[bytes, ReturnContext]:
    rng = np.random.default_rng(seed)
    kpis, places = KPIS, PLACES
    periods = _periods(rows)
    months = len(periods)
    index = np.arange(rows)
    breakdown = index % len(BREAKDOWNS)
    rest = index // len(BREAKDOWNS)
    period = rest % months
    rest //= months
    place = rest % places
    kpi = (rest // places) % kpis
    statistic = np.array([STATISTICS[k % len(STATISTICS)][0] for k in range(kpis)])[kpi]
    multiplier = np.array([STATISTICS[k % len(STATISTICS)][1] for k in range(kpis)])[kpi]
    denominator = rng.integers(20, 5000, size=rows)
    numerator = rng.binomial(denominator, 0.4)
    ratio = np.isin(statistic, ["proportion", "crude_rate"])
    value = np.where(ratio, np.round(numerator / denominator * multiplier, 1), np.nan)
    value = np.where(statistic == "count", numerator, value)
    value = np.where(statistic == "survey_estimate", np.round(rng.uniform(5, 95, rows), 1), value)
    value = np.where(statistic == "pp_gap", np.round(rng.uniform(-40, 40, rows), 1), value)
    value = np.where(statistic == "score", np.round(rng.uniform(3, 9, rows), 2), value)
    has_figures = ratio | (statistic == "count")
    frame = pd.DataFrame(
        {
            "kpi_code": np.char.add("KPI-", np.char.zfill(kpi.astype(str), 3)),
            "place_code": np.char.add("place_", np.char.zfill(place.astype(str), 2)),
            "period": np.array(periods)[period],
            "breakdown": np.array(BREAKDOWNS)[breakdown],
            "numerator": np.where(has_figures, numerator.astype(str), ""),
            "denominator": np.where(ratio, denominator.astype(str), ""),
            "value": pd.Series(value).map(lambda v: "" if np.isnan(v) else f"{v:g}").to_numpy(),
            "marker": "",
            "comment": "",
        }
    )
    # 1% suppressed with markers.
    suppressed = rng.random(rows) < 0.01
    frame.loc[suppressed, ["numerator", "value", "marker"]] = "*"
    # Errors of several kinds.
    broken = np.flatnonzero(rng.random(rows) < error_rate)
    kinds = broken % 4
    frame.loc[broken[kinds == 0], "kpi_code"] = "KPI-XYZ"
    frame.loc[broken[kinds == 1], "numerator"] = "twelve"
    frame.loc[broken[kinds == 2], "value"] = "999999"
    frame.loc[broken[kinds == 3], "period"] = "Q2 2023"
    buffer = io.StringIO()
    frame[list(COLUMNS)].to_csv(buffer, index=False)
    return buffer.getvalue().encode(), _context_for(rows)


def peak_rss_mb() -> float:
    """The process's peak resident memory (Linux VmHWM: reset by exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(content: bytes, ctx: ReturnContext, rows: int, trace: bool) -> None:
    rss_before = peak_rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    raw = read_return("bench.csv", content, ctx)
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = validate_return(raw, ctx)
    validate_seconds = time.perf_counter() - started
    total = read_seconds + validate_seconds
    print(f"read_return:     {read_seconds:6.2f} s  ({rows / read_seconds:,.0f} rows/s)")
    print(f"validate_return: {validate_seconds:6.2f} s  ({rows / validate_seconds:,.0f} rows/s)")
    print(f"together:        {total:6.2f} s  ({rows / total:,.0f} rows/s)")
    codes = pd.Series([issue.code for issue in result.errors + result.warnings]).value_counts()
    print(
        f"issues: {len(result.errors):,} errors, {len(result.warnings):,} warnings; "
        f"{len(result.rows):,} clean rows"
    )
    print("  " + ", ".join(f"{code} {count:,}" for code, count in codes.items()))
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak traced allocation during read + validate: {peak / 1e6:,.0f} MB")
    rss_after = peak_rss_mb()
    print(
        f"peak RSS: {rss_after:,.0f} MB, of which {rss_after - rss_before:,.0f} MB above the "
        f"{rss_before:,.0f} MB held before reading (the file's bytes, the context, libraries)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--error-rate", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        # Measured in a fresh process: the peak memory is reading and validating, not generating.
        content = sys.stdin.buffer.read()
        ctx = _context_for(args.rows)
        measure(content, ctx, args.rows, args.tracemalloc)
        return
    started = time.perf_counter()
    content, _ = generate(args.rows, args.error_rate, args.seed)
    print(
        f"generated {args.rows:,} rows, {len(content) / 1e6:.1f} MB of CSV "
        f"in {time.perf_counter() - started:.1f} s; measuring in a fresh process"
    )
    command = [sys.executable, __file__, "--child", "--rows", str(args.rows)]
    if args.tracemalloc:
        command.append("--tracemalloc")
    subprocess.run(command, input=content, check=True)


if __name__ == "__main__":
    main()
