"""Benchmark reading a 1,000,000-row NHS Talking Therapies annual report; prints figures.

Builds (deterministically) an annual report CSV in NHS England's 2020-21 layout: the 47 columns
of the "main" file, ROWS rows of organisations x breakdowns with counts, percentages and a share
of '*' suppression. Then times parse_publication as the import service reads it (the measures the
catalogue uses, the rows of the organisations that are places: here twenty organisations),
and reading those measures for every row (reading all 41 measure columns of a million rows
makes 41 million normalised rows: use --all with fewer rows to see that cost). Prints rows per
second, the normalised rows produced and peak memory, measured in a process of its own.

Run:  .venv/bin/python bench/national_annual.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
pd.set_option("mode.string_storage", "python")

FIXTURE = (
    ROOT
    / "tests"
    / "kpis"
    / "national"
    / "files"
    / "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv"
)
NAME = "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv"
CATALOGUE_MEASURES = {
    "Count_AccessingServices",
    "Count_FirstTreatment",
    "Count_FinishedCourseTreatment",
    "Count_NotAtCaseness",
    "Count_Recovery",
    "Percentage_Recovery",
    "Count_ReliableRecovery",
    "Percentage_ReliableRecovery",
}
BREAKDOWNS = [
    ("Total", "Total", "Total"),
    ("Age Group", "18-25", "Total"),
    ("Age Group", "65+", "Total"),
    ("Gender", "Female", "Null"),
    ("Gender", "Male", "Null"),
    ("Ethnic Group", "White", "Null"),
    ("Ethnic Group", "Asian or Asian British", "Null"),
    ("Indices of Deprivation Decile", "1", "Null"),
]


def build(rows: int) -> bytes:
    header = FIXTURE.read_text().splitlines()[0].split(",")
    rng = np.random.default_rng(2021)
    n_breakdowns = len(BREAKDOWNS)
    index = np.arange(rows)
    frame = pd.DataFrame(
        {
            "OrgType": np.where(index % 50 == 0, "Provider", "CCG"),
            "OrgCode": pd.Series(index // n_breakdowns).map(lambda i: f"C{i:06d}"),
            "OrgName": "NHS SOMEWHERE CCG",
            "VariableType": [BREAKDOWNS[i % n_breakdowns][0] for i in range(rows)],
            "VariableA": [BREAKDOWNS[i % n_breakdowns][1] for i in range(rows)],
            "VariableB": [BREAKDOWNS[i % n_breakdowns][2] for i in range(rows)],
        }
    )
    finished = rng.integers(20, 5000, rows) // 5 * 5
    not_case = finished // 10 // 5 * 5
    recovered = (finished - not_case) // 2 // 5 * 5
    for column in header[6:]:
        frame[column] = rng.integers(0, 10000, rows).astype(str)
    frame["Count_FinishedCourseTreatment"] = finished.astype(str)
    frame["Count_NotAtCaseness"] = not_case.astype(str)
    frame["Count_Recovery"] = recovered.astype(str)
    frame["Percentage_Recovery"] = np.round(recovered / (finished - not_case) * 100).astype(int)
    suppressed = rng.random(rows) < 0.02
    for column in header[6:]:
        frame[column] = frame[column].astype(str).where(~suppressed, "*")
    out = io.StringIO()
    frame[header].to_csv(out, index=False)
    return out.getvalue().encode()


#: Twenty organisations of the file, standing for the places the service holds.
PLACES = {f"C{i:06d}" for i in range(0, 125_000, 6_250)}


def run_one(path: str, mode: str) -> dict:
    from kpis.national import parse_publication

    content = Path(path).read_bytes()
    measures = None if mode == "all" else CATALOGUE_MEASURES
    areas = PLACES if mode == "places" else None
    started = time.perf_counter()
    parsed = parse_publication(content, filename=NAME, measures=measures, areas=areas)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "normalised_rows": len(parsed.frame), "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--all", action="store_true", help="also read every measure column")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--build", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return
    if args.build:
        Path(args.build).write_bytes(build(args.rows))
        return
    # Built and read in processes of their own: Linux carries a parent's peak memory over to
    # the processes it starts, so a parent that built the file would hide the reader's.
    started = time.perf_counter()
    path = Path("/tmp") / f"set-bench-{NAME}"
    command = [sys.executable, __file__, "--rows", str(args.rows), "--build", str(path)]
    subprocess.run(command, check=True)
    print(
        f"built {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    modes = ("places", "catalogue", "all") if args.all else ("places", "catalogue")
    for mode in modes:
        result = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--child", str(path), mode],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        label = {
            "places": "catalogue measures, places' rows (as imports read)",
            "catalogue": "catalogue measures, every row",
            "all": "every measure, every row",
        }[mode]
        print(
            f"{label}: {result['seconds']:.1f} s, "
            f"{args.rows / result['seconds']:,.0f} file rows/s, "
            f"{result['normalised_rows']:,} normalised rows, peak {result['peak_mb']:,.0f} MB"
        )
    path.unlink()


if __name__ == "__main__":
    main()
