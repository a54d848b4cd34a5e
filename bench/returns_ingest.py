"""Benchmark: a long-form return of N rows ingested end to end, beside PostgreSQL's own COPY.

Uses a scratch PostgreSQL database (dropped and created afresh), loads the strategy and KPI
catalogue, writes an N-row long-form CSV of monthly and rolling KPIs for every place, then:

1. COPY: PostgreSQL copies the same rows into a scratch table (the ceiling), and, for scale,
   into an ordinary logged table (what durable storage costs at the least);
2. the product's own path: store the upload, read and validate the whole file, stage it with
   COPY, submit, approve, and ingest the values as observation versions;
3. a place lead's correction: the same rows again with one value in a hundred changed, through
   the same path, which adds versions of the changed values only.

Prints rows per second and their ratio to COPY's for the upload's background job (store,
read, validate, stage: what the uploader waits for) and for the whole path with the four-eyes
approval, and peak memory (RSS); then, as a floor, the database alone writing the same
observation versions into copies of the observation table.

    .venv/bin/python bench/returns_ingest.py [--rows 1000000]
"""

import argparse
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "setset_bench"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "setset.settings.local")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ["SETSET_RETURN_MAX_ROWS"] = "5000000"
os.environ["SETSET_RETURN_MAX_BYTES"] = "2000000000"
os.environ["DJANGO_DEBUG"] = "false"


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        c.execute(f"CREATE DATABASE {DATABASE}")


def build_csv(rows: int) -> tuple[bytes, bytes]:
    """The file, and a revision of it: the same rows with one value in a hundred changed."""
    import numpy as np
    import pandas as pd

    from kpis import periods
    from kpis.models import Kpi
    from strategy.models import Place

    kpis = list(
        Kpi.objects.filter(
            period_type__in=["month", "rolling_12m_to_month", "rolling_3m_to_month"]
        ).values_list("code", "statistic", "multiplier", "period_type")
    )
    places = list(Place.objects.values_list("code", flat=True))
    months_needed = -(-rows // (len(kpis) * len(places)))
    months = [periods.month(2025 - (i // 12), 12 - (i % 12)) for i in range(months_needed)]
    rng = np.random.default_rng(1)
    frames = []
    for code, statistic, multiplier, period_type in kpis:
        if period_type == "month":
            labels = [m.label for m in months]
        else:
            width = 12 if period_type.startswith("rolling_12m") else 3
            labels = [periods.rolling(width, m.end.year, m.end.month).label for m in months]
        grid = pd.MultiIndex.from_product([places, labels], names=["place_code", "period"])
        frame = grid.to_frame(index=False)
        n = len(frame)
        denominator = rng.integers(20, 500, n)
        numerator = rng.integers(0, 20, n)
        frame["kpi_code"] = code
        frame["breakdown"] = ""
        if statistic == "count":
            frame["numerator"], frame["denominator"], frame["value"] = numerator, "", numerator
        else:
            frame["numerator"], frame["denominator"] = numerator, denominator
            frame["value"] = (numerator / denominator * float(multiplier)).round(4)
        frame["marker"], frame["comment"] = "", ""
        revised = frame.copy()
        changed = np.arange(n) % 100 == 0
        bumped = numerator[changed] + 1  # still at most the smallest denominator, 20
        revised.loc[changed, "numerator"] = bumped
        if statistic == "count":
            revised.loc[changed, "value"] = bumped
        else:
            revised.loc[changed, "value"] = (
                bumped / denominator[changed] * float(multiplier)
            ).round(4)
        frames.append((frame, revised))
    columns = ["kpi_code", "place_code", "period", "breakdown", "numerator", "denominator"]
    columns += ["value", "marker", "comment"]
    return tuple(
        pd.concat([pair[i] for pair in frames], ignore_index=True)
        .iloc[:rows][columns]
        .to_csv(index=False)
        .encode()
        for i in (0, 1)
    )


def copy_ceiling(content: bytes, *, logged: bool = False) -> float:
    """COPY of the rows into a scratch table: temporary (no write-ahead log) by default, or an
    ordinary logged table, which is what durable storage of the values costs at the least."""
    from django.db import connection

    table = "copy_ceiling_logged" if logged else "copy_ceiling"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE {'' if logged else 'TEMP '}TABLE {table} (kpi_code text, place_code text, "
            "period text, breakdown text, numerator numeric, denominator numeric, value numeric, "
            "marker text, comment text)"
        )
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER)") as copy:
            stream = io.BytesIO(content)
            while block := stream.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        cursor.execute(f"DROP TABLE {table}")
        return elapsed


def product_path(content, *, expected: int, name: str = "history.csv") -> dict[str, float]:
    """Times of each step; checks that exactly ``expected`` values were stored as versions."""
    from kpis.models import Observation, ReturnUpload
    from kpis.services.returns import (
        upload_approval_finish,
        upload_create,
        upload_decide,
        upload_submit,
    )
    from kpis.services.validation import upload_validate
    from strategy.models import User

    uploader = User.objects.get(username="bench-admin")
    reviewer = User.objects.get(username="bench-reviewer")
    times = {}
    started = time.perf_counter()
    upload, _ = upload_create(user=uploader, filename=name, content=content, kind="history")
    times["store"] = time.perf_counter() - started
    mark = time.perf_counter()
    upload_validate(upload_id=upload.pk)
    upload = ReturnUpload.objects.get(pk=upload.pk)
    assert upload.state == "validated", upload.issues[:5]
    times["read, validate and stage"] = time.perf_counter() - mark
    mark = time.perf_counter()
    upload = upload_submit(upload=upload, user=uploader, confirm_warnings=True)
    upload = upload_decide(upload=upload, user=reviewer, approve=True)
    # A return this large has its values written by a worker after the decision: here, at once.
    upload = upload_approval_finish(upload_id=upload.pk) or upload
    times["approve and ingest"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    assert upload.values_changed == expected, (upload.values_changed, expected)
    assert Observation.objects.filter(source_upload=upload).count() == expected
    return times


def ingest_only(path: Path, revised: Path) -> None:
    """The product's path alone, in a fresh process, so its peak memory is its own; then the
    revised file through the same path, as a place lead's corrected resubmission."""
    import django

    django.setup()
    with path.open("rb") as handle:
        rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1
        handle.seek(0)
        times = product_path(handle, expected=rows)
    for stage, seconds in times.items():
        print(f"  {stage}: {seconds:.2f} s")
    print(f"RATE {rows / times['total']:.1f}")
    print(f"JOB {rows / (times['store'] + times['read, validate and stage']):.1f}")
    print(f"peak memory of the ingesting process (RSS): {peak_rss_mib():,.0f} MiB")
    with path.open("rb") as before, revised.open("rb") as after:
        changed = sum(old != new for old, new in zip(before, after, strict=True))
    with revised.open("rb") as handle:
        times = product_path(handle, expected=changed, name="history-revised.csv")
    print(f"the same rows again with one value in a hundred changed ({changed:,} new versions):")
    for stage, seconds in times.items():
        print(f"  {stage}: {seconds:.2f} s")


def peak_rss_mib() -> float:
    """This process's own peak RSS. Not getrusage's ru_maxrss: on Linux a spawned child
    inherits the parent's high-water mark through exec, so the child would report the parent's
    memory (the generated CSV and its frames) as its own."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FLOOR_TABLES = {
    "with only the one-current unique index": [
        "CREATE UNIQUE INDEX ON {t} (series_id, period_id) WHERE is_current"
    ],
    "with the primary key and the one-current index": [
        "ALTER TABLE {t} ADD PRIMARY KEY (id)",
        "CREATE UNIQUE INDEX ON {t} (series_id, period_id) WHERE is_current",
    ],
    "with every index of the observation table": None,
}


def storage_floor() -> dict[str, float]:
    """The database alone writing the ingested observation versions again, into copies of the
    observation table with fewer or all of its indexes. No Python, no validation: what any
    ingest path pays for the table as it is, and what a slimmer table would pay."""
    from django.db import connection

    times = {}
    with connection.cursor() as cursor:
        for label, statements in FLOOR_TABLES.items():
            including = "INCLUDING ALL" if statements is None else "INCLUDING DEFAULTS"
            cursor.execute(f"CREATE TABLE storage_floor (LIKE kpis_observation {including})")
            for statement in statements or []:
                cursor.execute(statement.format(t="storage_floor"))
            started = time.perf_counter()
            cursor.execute(
                "INSERT INTO storage_floor SELECT * FROM kpis_observation WHERE version = 1"
            )
            times[label] = time.perf_counter() - started
            cursor.execute("DROP TABLE storage_floor")
    return times


def main() -> None:
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/report.py)")
    parser.add_argument("--ingest", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest:
        ingest_only(*args.ingest)
        return
    recreate_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from kpis.services.catalogue import catalogue_load
    from strategy.access import Role
    from strategy.services import strategy_fixtures_load, user_create

    call_command("migrate", verbosity=0)
    strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
    catalogue_load(directory=settings.FIXTURES_DIR / "kpis")
    user_create(username="bench-admin", password="x" * 16, roles=[Role.ADMINISTRATOR])
    user_create(username="bench-reviewer", password="x" * 16, roles=[Role.SIG_MEMBER])
    content, revised = build_csv(args.rows)
    rows = content.count(b"\n") - 1
    print(f"rows: {rows:,} ({len(content) / 1e6:.1f} MB of CSV)")
    ceiling = copy_ceiling(content)
    print(f"PostgreSQL COPY into a scratch table: {ceiling:.2f} s, {rows / ceiling:,.0f} rows/s")
    logged = copy_ceiling(content, logged=True)
    print(
        f"  (into an ordinary, logged scratch table: {logged:.2f} s, {rows / logged:,.0f} rows/s)"
    )
    with (
        tempfile.NamedTemporaryFile(suffix=".csv") as handle,
        tempfile.NamedTemporaryFile(suffix=".csv") as revision,
    ):
        handle.write(content)
        handle.flush()
        revision.write(revised)
        revision.flush()
        del content, revised
        output = subprocess.run(
            [sys.executable, __file__, "--ingest", handle.name, revision.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    lines = output.splitlines()
    revision_at = next(i for i, line in enumerate(lines) if line.startswith("the same rows"))
    lines, revision_lines = lines[:revision_at], lines[revision_at:]
    rate = float(next(line.split()[1] for line in lines if line.startswith("RATE")))
    job = float(next(line.split()[1] for line in lines if line.startswith("JOB")))
    print("the product's own path (store, read, validate, stage, approve, ingest):")
    print("\n".join(line for line in lines if not line.startswith(("RATE", "JOB"))))
    print(
        f"the upload's background job (store, read, validate and stage: what a place lead waits "
        f"for): {job:,.0f} rows/s, {job / (rows / ceiling):.2f} of COPY's rate "
        f"({job / (rows / logged):.2f} of the logged COPY's)"
    )
    print(
        f"end to end, with the four-eyes approval that writes the observation versions: "
        f"{rate:,.0f} rows/s, {rate / (rows / ceiling):.2f} of COPY's rate "
        f"({rate / (rows / logged):.2f} of the logged COPY's)"
    )
    print("\n".join(revision_lines))
    print("the database alone writing the same observation versions (INSERT ... SELECT):")
    floor = storage_floor()
    if args.json:
        figures = {
            "rows": rows,
            "copy_rows_per_second": round(rows / ceiling, 1),
            "copy_logged_rows_per_second": round(rows / logged, 1),
            "job_rows_per_second": round(job, 1),
            "end_to_end_rows_per_second": round(rate, 1),
            "database_alone_rows_per_second": {
                label: round(rows / seconds, 1) for label, seconds in floor.items()
            },
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    for label, seconds in floor.items():
        print(
            f"  {label}: {seconds:.2f} s, {rows / seconds:,.0f} rows/s, "
            f"{(rows / seconds) / (rows / ceiling):.2f} of COPY's rate"
        )


if __name__ == "__main__":
    main()
