"""England-scale benchmark data: every area type England reports on, about 10 million values.

Builds a scratch PostgreSQL database (``setset_bench_england`` by default, dropped and created
afresh) through the product's own paths:

1. Geography (``geography_load``): the strategy's own places, then the rest of England, all
   synthetic but shaped as England is: the other eight ONS regions (real codes), 150 more
   upper-tier councils (153 in all; resident basis), 39 more integrated care boards (42) and 99
   more sub-ICB locations (106; GP-registered basis), each sub-ICB location the successor from
   1 July 2022 of a CCG with the same ODS code, as SET's are. England itself is the strategy's.
2. KPIs (``catalogue_load``): the catalogue's KPIs, and copies of those whose statistic a
   return can carry as a count or a ratio of counts (counts, proportions, crude rates) on
   the resident or GP-registered basis, to 100 in all. A copy keeps its original's definition
   (code ``<code>-E<n>``, title marked as a copy) and is broken down by sex and deprivation
   quintile. About 6.5 million values in all; with
   ``--copy-breakdowns sex,age_band,deprivation_quintile``, about 10 million.
3. Values: for every KPI, each place on its basis valid over each period (and England), each
   period of the KPI's own type from 2019-20 to 2027-28, the total and each declared breakdown
   category; numerators and denominators drawn at random, values worked out from them. One
   return per financial year, uploaded by an administrator (kind "history"), validated, staged,
   submitted and approved by a group member: the returns path a place lead's upload takes.
4. Releases (``release_schedule``, ``release_publish``): 2019-20 in one release, 2020-21 (the
   baseline year) in a second; later years stay approved and unreleased. Publishing stores the
   published assessments of every KPI a release touches, and their read model.
5. The internal assessments: every series marked for recomputation and recomputed by the
   progress engine (``progress_recompute_dirty``) in ``--workers`` processes, as Celery
   workers run it after a national import.

Prints each step's time and rate, and writes them (JSON) to ``--results``. The demo accounts
(``sig`` and the others) are created, so the page benchmark can sign in.

    .venv/bin/python bench/england.py [--database setset_bench_england] [--copies-to 100]
        [--councils 150] [--icbs 39] [--sub-icbs 99] [--workers 2] [--results FILE]
        [--recompute-only [--as-of YYYY-MM-DD]]

``--ceilings-only`` writes the same files again and times PostgreSQL's COPY of them and the
database alone writing the observation versions, beside the ingestion's rate.
``--recompute-only`` recomputes every internal assessment of ``--database`` as it is (another
benchmark's, say), then times the assessment engine alone over the same values: the ceiling.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = "setset_bench_england"
LAST_DAY = date(2028, 3, 31)  # the strategy's last financial year, 2027-28
FIRST_YEAR, LAST_YEAR = 2019, 2027  # financial years 2019-20 to 2027-28
SUB_ICB_FROM = date(2022, 7, 1)  # ICBs and sub-ICB locations replaced CCGs
OTHER_REGIONS = [
    ("E12000001", "North East"),
    ("E12000002", "North West"),
    ("E12000003", "Yorkshire and The Humber"),
    ("E12000004", "East Midlands"),
    ("E12000005", "West Midlands"),
    ("E12000007", "London"),
    ("E12000008", "South East"),
    ("E12000009", "South West"),
]
CARRIED = {"count", "proportion", "crude_rate"}  # statistics a return carries from counts
BASES = {"resident", "gp_registered"}
CARRIED_PERIODS = {"month", "quarter", "financial_year", "rolling_12m_to_month"}
CARRIED_PERIODS |= {"rolling_3m_to_month"}
COPY_BREAKDOWNS = ["sex", "deprivation_quintile"]
USERNAME_UPLOADER, USERNAME_REVIEWER = "bench-admin", "bench-reviewer"


def environment(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "setset.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DJANGO_DEBUG": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        # Jobs are run here, step by step, not by a worker.
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SETSET_RETURN_MAX_ROWS": "5000000",
        "SETSET_RETURN_MAX_BYTES": "2000000000",
        "SETSET_DEMO_ACCOUNTS_ALLOWED": "true",
    }


def mark_complete(database: str) -> None:
    """Say on the database that its build completed (bench/page_latency.py serves it then)."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"COMMENT ON DATABASE {database} IS 'bench/england.py complete'")


def recreate_database(database: str) -> None:
    import psycopg

    assert database.startswith("setset_bench_"), database
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {database}")


# ---------------------------------------------------------------------------------------------
# Geography and KPIs


def england_places(*, councils: int, icbs: int, sub_icbs: int) -> list[dict]:
    """The rest of England as places (no building-block areas: none combine into SET)."""
    outside = {"within_set": False, "areas": []}
    places = [
        {
            "code": f"region-{gss.lower()}",
            "name": name,
            "kind": "region",
            "geography_basis": "resident",
            "gss_code": gss,
            **outside,
        }
        for gss, name in OTHER_REGIONS
    ]
    places += [
        {
            "code": f"council-{n:03d}",
            "name": f"Council area {n:03d} (synthetic)",
            "kind": "council",
            "geography_basis": "resident",
            "gss_code": f"E06{900000 + n}",
            **outside,
        }
        for n in range(1, councils + 1)
    ]
    places += [
        {
            "code": f"icb-{n:03d}",
            "name": f"Integrated care board {n:03d} (synthetic)",
            "kind": "ics",
            "geography_basis": "gp_registered",
            "nhs_code": f"Z{n:02d}",
            "valid_from": SUB_ICB_FROM,
            **outside,
        }
        for n in range(1, icbs + 1)
    ]
    for n in range(1, sub_icbs + 1):
        common = {"geography_basis": "gp_registered", "nhs_code": f"Y{n:02d}", **outside}
        places.append(
            {
                "code": f"sub-icb-y{n:03d}",
                "name": f"Sub-ICB location {n:03d} (synthetic)",
                "kind": "sub_icb",
                "valid_from": SUB_ICB_FROM,
                **common,
            }
        )
        places.append(
            {
                "code": f"ccg-y{n:03d}",
                "name": f"CCG {n:03d} (synthetic)",
                "kind": "ccg",
                "valid_to": SUB_ICB_FROM - timedelta(days=1),
                **common,
            }
        )
    return places


def england_catalogue(
    directory: Path, *, kpis_in_all: int, breakdowns: list[str] = COPY_BREAKDOWNS
) -> list[str]:
    """The catalogue's files with copies of the KPIs a return can carry, to ``kpis_in_all``;
    returns the codes of the KPIs given values."""
    import shutil

    import yaml
    from django.conf import settings

    source = settings.FIXTURES_DIR / "kpis"
    for path in source.iterdir():
        shutil.copy(path, directory / path.name)
    catalogue = yaml.safe_load((source / "catalogue.yaml").read_text())
    carried = [
        kpi
        for kpi in catalogue["kpis"]
        if kpi["statistic"] in CARRIED
        and kpi["geography_basis"] in BASES
        and kpi["period_type"] in CARRIED_PERIODS
    ]
    copies = []
    n = 0
    while len(catalogue["kpis"]) + len(copies) < kpis_in_all:
        original = carried[n % len(carried)]
        number = n // len(carried) + 1
        copy = {
            **original,
            "code": f"{original['code']}-E{number}",
            "title": f"{original['title']} (England-scale copy {number})",
            "breakdowns": breakdowns,
            "owner": None,
        }
        copies.append(copy)
        n += 1
    catalogue["kpis"] += copies
    (directory / "catalogue.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    return [kpi["code"] for kpi in carried + copies]


# ---------------------------------------------------------------------------------------------
# Values


def kpi_rows(kpi, places, categories: dict[str, list[str]], rng):
    """One KPI's rows: every place on its basis (and England) valid over each period, the total
    and each category of its breakdowns; counts drawn at random, values worked out from them."""
    import numpy as np
    import pandas as pd

    from kpis.synthetic import period_specs

    specs = [s for s in period_specs(kpi.period_type, LAST_DAY) if s.start >= date(2019, 4, 1)]
    if not specs:
        return None
    on_basis = places[(places["basis"] == kpi.geography_basis) | (places["code"] == "england")]
    starts = np.array([s.start for s in specs], dtype="datetime64[D]")
    ends = np.array([s.end for s in specs], dtype="datetime64[D]")
    valid = (on_basis["valid_from"].to_numpy()[:, None] <= starts[None, :]) & (
        on_basis["valid_to"].to_numpy()[:, None] >= ends[None, :]
    )
    place_index, spec_index = np.nonzero(valid)
    breakdowns = ["all"] + [
        f"{dimension}:{category}"
        for dimension in kpi.breakdowns
        for category in categories.get(dimension, [])
    ]
    n = len(place_index) * len(breakdowns)
    frame = pd.DataFrame(
        {
            "kpi_code": kpi.code,
            "place_code": np.repeat(on_basis["code"].to_numpy()[place_index], len(breakdowns)),
            "period": np.repeat(np.array([s.label for s in specs])[spec_index], len(breakdowns)),
            "breakdown": np.tile(
                np.array(["" if b == "all" else b for b in breakdowns]), n // len(breakdowns)
            ),
            "year": np.repeat(
                np.array([s.end.year if s.end.month >= 4 else s.end.year - 1 for s in specs])[
                    spec_index
                ],
                len(breakdowns),
            ),
        }
    )
    multiplier = float(kpi.multiplier)
    if kpi.statistic == "count":
        numerator = rng.integers(5, 400, n)
        frame["numerator"], frame["denominator"], frame["value"] = numerator, "", numerator
    else:
        denominator = rng.integers(200, 5000, n)
        share = (
            rng.uniform(0.2, 0.8, n) if kpi.statistic == "proportion" else rng.uniform(0, 0.05, n)
        )
        numerator = rng.binomial(denominator, share)
        frame["numerator"], frame["denominator"] = numerator, denominator
        frame["value"] = (numerator / denominator * multiplier).round(4)
    frame["marker"], frame["comment"] = "", ""
    return frame


COLUMNS = ["kpi_code", "place_code", "period", "breakdown", "numerator", "denominator"]
COLUMNS += ["value", "marker", "comment"]


def write_returns(codes: list[str], directory: Path, seed: int = 2023) -> dict[int, Path]:
    """One CSV a financial year (by each period's last day), every KPI's values in it."""
    import numpy as np
    import pandas as pd

    from kpis.models import Breakdown, Kpi
    from strategy.models import Place

    rng = np.random.default_rng(seed)
    places = pd.DataFrame.from_records(
        Place.objects.filter(geography_basis__in=BASES).values(
            "code", "geography_basis", "valid_from", "valid_to"
        )
    ).rename(columns={"geography_basis": "basis"})
    places["valid_from"] = pd.to_datetime(places["valid_from"]).fillna(pd.Timestamp("1900-01-01"))
    places["valid_to"] = pd.to_datetime(places["valid_to"]).fillna(pd.Timestamp("2100-01-01"))
    places["valid_from"] = places["valid_from"].to_numpy().astype("datetime64[D]")
    places["valid_to"] = places["valid_to"].to_numpy().astype("datetime64[D]")
    categories: dict[str, list[str]] = {}
    for dimension, category in Breakdown.objects.exclude(dimension="all").values_list(
        "dimension", "category"
    ):
        categories.setdefault(dimension, []).append(category)
    paths = {year: directory / f"england-{year}.csv" for year in range(FIRST_YEAR, LAST_YEAR + 1)}
    for path in paths.values():
        path.write_text(",".join(COLUMNS) + "\n")
    kpis = {k.code: k for k in Kpi.objects.filter(code__in=codes)}
    for code in codes:
        frame = kpi_rows(kpis[code], places, categories, rng)
        if frame is None:
            continue
        for year, rows in frame.groupby("year"):
            if year in paths:
                rows[COLUMNS].to_csv(paths[year], mode="a", header=False, index=False)
    return paths


# ---------------------------------------------------------------------------------------------
# The steps


def step(results: dict, name: str, started: float, rows: int | None = None) -> None:
    seconds = time.perf_counter() - started
    entry = {"seconds": round(seconds, 2)}
    line = f"  {name}: {seconds:,.1f} s"
    if rows is not None:
        entry["rows"] = rows
        entry["rows_per_second"] = round(rows / seconds, 1) if seconds else None
        line += f", {rows:,} rows, {rows / seconds:,.0f} rows/s"
    results[name] = entry
    print(line, flush=True)


def build(args) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from kpis.models import Observation, ReturnUpload
    from kpis.services.catalogue import catalogue_load
    from kpis.services.returns import (
        upload_approval_finish,
        upload_create,
        upload_decide,
        upload_submit,
    )
    from kpis.services.validation import upload_validate
    from strategy.access import Role
    from strategy.services import (
        LoadReport,
        demo_accounts_ensure,
        geography_load,
        strategy_fixtures_load,
        user_create,
    )

    results: dict = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
    geography_load(
        data={
            "areas": [],
            "places": england_places(
                councils=args.councils, icbs=args.icbs, sub_icbs=args.sub_icbs
            ),
            "narrative_population_source": "set-mh-strategy-2023-28",
        },
        report=LoadReport(),
    )
    with tempfile.TemporaryDirectory() as scratch:
        codes = england_catalogue(
            Path(scratch), kpis_in_all=args.copies_to, breakdowns=args.copy_breakdowns
        )
        catalogue_load(directory=Path(scratch))
    demo_accounts_ensure()
    user_create(username=USERNAME_UPLOADER, password="x" * 16, roles=[Role.ADMINISTRATOR])
    user_create(username=USERNAME_REVIEWER, password="x" * 16, roles=[Role.SIG_MEMBER])
    step(results, "geography, catalogue and accounts", started)

    from strategy.models import User

    uploader = User.objects.get(username=USERNAME_UPLOADER)
    reviewer = User.objects.get(username=USERNAME_REVIEWER)
    uploads = {}
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        paths = write_returns(codes, Path(scratch))
        total_rows = sum(sum(1 for _ in p.open("rb")) - 1 for p in paths.values())
        step(results, "values generated as CSV", started, total_rows)
        started = time.perf_counter()
        for year, path in paths.items():
            with path.open("rb") as handle:
                upload, _ = upload_create(
                    user=uploader, filename=path.name, content=handle, kind="history"
                )
            upload_validate(upload_id=upload.pk)
            upload = ReturnUpload.objects.get(pk=upload.pk)
            if upload.state != ReturnUpload.State.VALIDATED:
                raise SystemExit(f"{path.name}: {upload.state}: {upload.issues[:3]}")
            upload = upload_submit(upload=upload, user=uploader, confirm_warnings=True)
            upload_decide(upload=upload, user=reviewer, approve=True)
            # What the approval task does in a worker for a return this large.
            upload_approval_finish(upload_id=upload.pk)
            uploads[year] = ReturnUpload.objects.get(pk=upload.pk)
            print(f"    {path.name}: {uploads[year].values_changed:,} values", flush=True)
        step(results, "returns ingested (store, validate, stage, approve)", started, total_rows)
    assert Observation.objects.count() == total_rows
    results["observations"] = total_rows
    started = time.perf_counter()
    publish(uploads, reviewer)
    published = Observation.objects.filter(release__isnull=False).count()
    step(
        results, "two releases published (published assessments and read model)", started, published
    )
    started = time.perf_counter()
    assessed = recompute(args)
    step(results, "internal assessments recomputed", started, assessed)
    return results


def publish(uploads: dict, user) -> None:
    from django.utils import timezone

    from kpis.services.releases import ReleaseContents, release_publish, release_schedule

    groups = [
        ("England-scale values for 2019-20", [u for y, u in uploads.items() if y == 2019]),
        ("England-scale values for 2020-21", [u for y, u in uploads.items() if y == 2020]),
    ]
    for title, chosen in groups:
        soon = timezone.now() + timedelta(minutes=1)
        release = release_schedule(
            title=title,
            scheduled_for=soon,
            user=user,
            contents=ReleaseContents(uploads=chosen),
        )
        # Published as at its announced time, a minute on, without waiting for it.
        release_publish(release=release, user=user, now=soon + timedelta(seconds=1))


def recompute(args) -> int:
    """Mark every series for recomputation, then recompute in ``--workers`` processes."""
    from kpis.models import Assessment
    from kpis.services.progress import series_mark_dirty

    series_mark_dirty()
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--recompute-worker", "--as-of", str(args.as_of)],
            env=environment(args.database),
            cwd=ROOT,
        )
        for _ in range(args.workers)
    ]
    for worker in workers:
        if worker.wait() != 0:
            raise SystemExit("a recompute worker failed")
    return Assessment.objects.filter(scope=Assessment.Scope.INTERNAL).count()


def recompute_worker(as_of: date) -> None:
    """As a Celery worker runs the progress task: claim a batch, recompute it, until none."""
    import django

    django.setup()
    from kpis.services.progress import progress_recompute_dirty

    remaining = True
    while remaining:
        _, remaining = progress_recompute_dirty(as_of=as_of)


def ingestion_ceilings() -> dict:
    """Beside the ingestion's rate: PostgreSQL's COPY of the same files (written again, from
    the same seed), and the database alone writing the same observation versions."""
    from returns_ingest import copy_ceiling, storage_floor

    from kpis.models import Kpi

    rows = 0
    seconds = logged_seconds = 0.0
    with tempfile.TemporaryDirectory() as catalogue, tempfile.TemporaryDirectory() as scratch:
        # The same KPIs in the same order as the build, so the same seed draws the same values.
        codes = england_catalogue(Path(catalogue), kpis_in_all=Kpi.objects.count())
        for path in write_returns(codes, Path(scratch)).values():
            content = path.read_bytes()
            rows += content.count(b"\n") - 1
            seconds += copy_ceiling(content)
            logged_seconds += copy_ceiling(content, logged=True)
    floor = storage_floor()
    return {
        "rows": rows,
        "copy_rows_per_second": round(rows / seconds, 1),
        "copy_logged_rows_per_second": round(rows / logged_seconds, 1),
        "database_alone_rows_per_second": {
            label: round(rows / taken, 1) for label, taken in floor.items()
        },
    }


def engine_alone(as_of: date) -> dict:
    """The ceiling of recomputation: the assessment engine alone, in one process, over the same
    values (each KPI read first, untimed as engine time), with nothing written."""
    from kpis.assessment import assess
    from kpis.models import Kpi, Observation
    from kpis.selectors.catalogue import kpi_frame, place_frame
    from kpis.selectors.observations import observations_frame
    from kpis.services.progress import rules_of, verdict_rules_active

    rules = rules_of(verdict_rules_active())
    places = place_frame()
    reading = assessing = 0.0
    observations = 0
    kpi_ids = list(Kpi.objects.filter(series__isnull=False).distinct().values_list("id", flat=True))
    # A small database in one pass, as a batch of the progress engine takes it; a large one a
    # KPI at a time.
    whole = Observation.objects.count() < 1_000_000
    for group in [set(kpi_ids)] if whole else [{kpi_id} for kpi_id in kpi_ids]:
        started = time.perf_counter()
        obs = observations_frame(kpi_ids=group)
        kpis = kpi_frame(kpi_ids=group)
        reading += time.perf_counter() - started
        started = time.perf_counter()
        assess(obs, kpis, places, rules, as_of=as_of)
        assessing += time.perf_counter() - started
        observations += len(obs)
    return {
        "observations": observations,
        "read_seconds": round(reading, 2),
        "assess_seconds": round(assessing, 2),
        "assess_rows_per_second": round(observations / assessing, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--copies-to", type=int, default=100, help="KPIs in all")
    parser.add_argument("--councils", type=int, default=150)
    parser.add_argument("--icbs", type=int, default=39)
    parser.add_argument("--sub-icbs", type=int, default=99)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--copy-breakdowns",
        type=lambda text: text.split(","),
        default=COPY_BREAKDOWNS,
        help="the breakdowns of the KPIs' copies (comma-separated)",
    )
    parser.add_argument("--results", type=Path)
    parser.add_argument("--recompute-only", action="store_true")
    parser.add_argument("--ceilings-only", action="store_true")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=LAST_DAY,
        help="the day assessments are made as at (default: the data's last day)",
    )
    parser.add_argument("--recompute-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--in-database", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.recompute_worker:
        recompute_worker(args.as_of)
        return
    if not args.in_database:
        if not (args.recompute_only or args.ceilings_only):
            recreate_database(args.database)
        child = [sys.executable, __file__, "--in-database", *sys.argv[1:]]
        subprocess.run(child, env=environment(args.database), cwd=ROOT, check=True)
        if not (args.recompute_only or args.ceilings_only):
            mark_complete(args.database)
        return
    print(f"England-scale data in {args.database} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    if args.ceilings_only:
        import django

        django.setup()
        results = {"ingestion ceilings": ingestion_ceilings()}
        print(json.dumps(results, indent=2))
    elif args.recompute_only:
        import django

        django.setup()
        results: dict = {}
        started = time.perf_counter()
        assessed = recompute(args)
        step(results, "internal assessments recomputed", started, assessed)
        results["engine alone"] = engine = engine_alone(args.as_of)
        print(
            f"  the engine alone, one process: {engine['observations']:,} values assessed in "
            f"{engine['assess_seconds']:,.1f} s, {engine['assess_rows_per_second']:,.0f} rows/s "
            f"(reading them: {engine['read_seconds']:,.1f} s)",
            flush=True,
        )
    else:
        results = build(args)
    if args.results:
        args.results.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
