"""Benchmark: a million observations streamed as CSV by the API, beside PostgreSQL's own COPY of
the same rows; prints figures.

Measures, in one run and on one database:

* **API**: ``GET /api/v1/observations/?format=csv`` as an anonymous caller (the published view,
  every row), served by gunicorn (``setset.settings.production``, DEBUG off, one sync worker, a
  long timeout) and read by a client in 64 KiB pieces, never whole: rows (newlines less the
  header), seconds from request to last byte, time to first byte, and the worker's peak resident
  memory (its ``VmHWM``, reset just before the request, and ``VmRSS`` sampled every 10 ms).
  The view has PostgreSQL write the CSV (``published_observation_csv``): one ``COPY (SELECT
  ...) TO STDOUT`` of the published read model (the figures each release stored as the public
  reads them, ``kpis.services.published``), each cell formatted in SQL as the pandas path
  writes it, handed on in blocks of 256 KiB.
* **COPY**: ``COPY (<the plain SELECT of the same rows>) TO STDOUT WITH (FORMAT csv, HEADER)``
  through psycopg, read in pieces and discarded, rows counted. The SELECT is Django's own:
  ``observation_rows(...).values_list(*observation_fields("published"))``,
  ``query.sql_with_params()`` bound client-side by ``psycopg.ClientCursor.mogrify``, with no
  formatting of its cells. Its memory is that of the PostgreSQL backend running it (peak
  ``VmRSS``; shared buffers it touched included), beside its private part (``RssAnon``)
  sampled every 10 ms.

A first COPY, untimed, warms the caches, and a CSV request of one series warms the worker
(imports, URLconf) before either is timed; the worker's memory is given at the start of the
timed request too (Django, DRF, pandas, SciPy and the rest already take about 240 MB of it).

The aims: the API at least half of COPY's rate (rows per second), in under 300 MB of the
worker's memory.

The data: the database ``--database`` (``setset_bench_api``; any name starting
``setset_bench_``), dropped and created afresh, migrated, with the strategy and the KPI
catalogue loaded (``strategy_load``, ``catalogue_load``: real KPIs, places, breakdowns, the
active verdict rule table). Then, by set-based SQL only (a statement per table, so the
observation table's reference triggers run once per statement): one published release;
``--kpis`` x ``--places`` x ``--breakdowns`` series (the first KPIs and places by code, the
breakdowns "all" first), each published by that release; ``--periods`` months (created where
missing, labels as the product writes them: "Jan 2020"); and ``--rows`` (series, period) pairs,
series by series, each with a published assessment of that release (ids in series order, as
the product's per-series recompute writes them) and one observation (version 1, current,
approved, published with the release, marked synthetic). About 2% of values are publicly
suppressed, with a reason. Then VACUUM ANALYZE, the release's published figures stored by the
product's own service (``published_figures_store``), and VACUUM ANALYZE of the assessments
again.

Run:  .venv/bin/python bench/api_stream.py [--database setset_bench_api] [--rows 1000000]
      [--periods 400] [--kpis 25] [--places 25] [--breakdowns 4] [--reuse]

``--reuse`` serves the database as an earlier run left it, rather than building it again, when
it was built with the same shape from the same versions of the files that shape the data
(``FINGERPRINTED``; recorded as the database's comment once its build completes).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from page_latency import (
    BENCH_DATABASE_PREFIX as DATABASE_PREFIX,
)
from page_latency import (
    BIN,
    ROOT,
    build_env,
    database_admin,
    database_fingerprint,
    database_url,
    files_fingerprint,
    free_port,
    recreate_database,
    server_env,
)

DATABASE = "setset_bench_api"
PATH = "/api/v1/observations/?format=csv"
RATE_AIM = 0.5  # the API's rate, as a share of COPY's
MEMORY_AIM_MB = 300.0  # the worker's peak
READ_SIZE = 1 << 16
SAMPLE_EVERY = 0.01  # seconds between memory samples
PUBLISHED_AT = "2024-06-13 09:30:00+00"
LAST_MONTH = "2024-03-01"  # the latest month of the synthetic calendar


@dataclass(frozen=True)
class Shape:
    rows: int
    periods: int
    kpis: int
    places: int
    breakdowns: int

    @property
    def series(self) -> int:
        return math.ceil(self.rows / self.periods)

    def argv(self) -> list[str]:
        return [
            f"--rows={self.rows}",
            f"--periods={self.periods}",
            f"--kpis={self.kpis}",
            f"--places={self.places}",
            f"--breakdowns={self.breakdowns}",
        ]


# ---------------------------------------------------------------------------------------------
# Environments and databases


# What the build runs to shape the data: ``--reuse`` builds the database again when any of these
# differ from the versions it was built with.
FINGERPRINTED = (
    "fixtures/**/*",
    "*/migrations/*.py",
    "strategy/models.py",
    "strategy/services.py",
    "kpis/models.py",
    "kpis/services/catalogue.py",
    "kpis/services/progress.py",
    "kpis/services/published.py",
    "kpis/selectors/figures.py",
    "kpis/selectors/vintages.py",
)
BUILD_VERSION = 2  # the build's own code: raise it when build() or SYNTHETIC_SQL change


def data_fingerprint(shape: Shape) -> str:
    return files_fingerprint("bench/api_stream.py", FINGERPRINTED, shape, BUILD_VERSION)


# ---------------------------------------------------------------------------------------------
# Building the data (run in a process of its own, on DATABASE_URL: ``--build``)

# Each statement takes the parameters of ``build``; %% is a literal percent sign.
SYNTHETIC_SQL = [
    # The months, where missing ("Jan 2020", as kpis.periods labels them).
    """
    INSERT INTO kpis_period (type, start, "end", label)
    SELECT 'month', d::date, (d + interval '1 month' - interval '1 day')::date,
           to_char(d, 'Mon YYYY')
      FROM generate_series(%(first_month)s::date, %(last_month)s::date, interval '1 month') d
    ON CONFLICT DO NOTHING
    """,
    # The series: the first KPIs and places by code, the breakdowns "all" first.
    """
    WITH k AS (SELECT id, code FROM kpis_kpi ORDER BY code LIMIT %(kpis)s),
         p AS (SELECT id, code FROM strategy_place ORDER BY code LIMIT %(places)s),
         b AS (SELECT id, dimension, position FROM kpis_breakdown
                ORDER BY dimension <> 'all', dimension, position LIMIT %(breakdowns)s)
    INSERT INTO kpis_series
           (kpi_id, place_id, breakdown_id, needs_recompute, computed_at, published_release_id)
    SELECT k.id, p.id, b.id, false, %(computed_at)s, %(release)s
      FROM k CROSS JOIN p CROSS JOIN b
     ORDER BY k.code, p.code, b.dimension <> 'all', b.dimension, b.position
     LIMIT %(series)s
    """,
    # The (series, period) pairs and their figures, series by series.
    """
    CREATE TEMPORARY TABLE bench_pairs ON COMMIT DROP AS
    SELECT n, series_id, period_id, is_latest,
           denominator, numerator, value, spread,
           n %% 50 = 0 AS suppressed
      FROM (
        SELECT row_number() OVER (ORDER BY s.id, m.start) AS n,
               s.id AS series_id, m.id AS period_id,
               lead(m.id) OVER (PARTITION BY s.id ORDER BY m.start) IS NULL AS is_latest
          FROM kpis_series s
         CROSS JOIN (SELECT id, start FROM kpis_period
                      WHERE type = 'month' AND start BETWEEN %(first_month)s AND %(last_month)s)
               m
         WHERE s.published_release_id = %(release)s
         ORDER BY s.id, m.start
         LIMIT %(rows)s
      ) pairs
     CROSS JOIN LATERAL (SELECT (200 + (n * 7919) %% 4800)::numeric AS denominator) d
     CROSS JOIN LATERAL (SELECT (1 + (n * 104729) %% (denominator / 2)::int)::numeric
                                AS numerator) x
     CROSS JOIN LATERAL (SELECT round(100 * numerator / denominator, 6) AS value) v
     CROSS JOIN LATERAL (SELECT round(100 * sqrt((value / 100) * (1 - value / 100)
                                                  / denominator), 6) AS spread) e
    """,
    # A published assessment of each pair, in the release.
    """
    INSERT INTO kpis_assessment (
        series_id, period_id, scope, release_id, value_status, is_latest,
        value, numerator, denominator, lower95, upper95, lower998, upper998, interval_method,
        public_suppressed, suppression_reason,
        baseline_label, baseline_first_available, baseline_pandemic_affected,
        change_method, change_category, change_reason,
        benchmark_england, benchmark_england_by_source, benchmark_rest_of_set,
        spc_point_type, spc_special_cause, spc_trial_limits, spc_reason,
        assurance, target_kind, progress_status,
        verdict, verdict_reason, rule_table_id, computed_at)
    SELECT series_id, period_id, 'published', %(release)s, 'published', is_latest,
           value, numerator, denominator,
           greatest(value - 1.96 * spread, 0), least(value + 1.96 * spread, 100),
           greatest(value - 3.09 * spread, 0), least(value + 3.09 * spread, 100), 'Wilson',
           suppressed,
           CASE WHEN suppressed THEN 'Fewer than 10 events (synthetic)' ELSE '' END,
           '2020-21', false, false,
           '', 'not_tested', 'Synthetic data: not tested', '', false, '',
           '', '', false, 'Synthetic data', '', '', '',
           (ARRAY['on_track', 'improving', 'no_significant_change', 'needs_attention',
                  'off_track', 'cannot_assess'])[1 + n %% 6],
           'Synthetic data, not real figures', %(rule_table)s, %(computed_at)s
      FROM bench_pairs
     ORDER BY n
    """,
    # One observation of each pair: version 1, current, approved, published with the release.
    """
    INSERT INTO kpis_observation (
        series_id, period_id, version, is_current, numerator, denominator, value,
        suppressed, rounded, marker, note, ci_lower, ci_upper, ci_level, ci_method,
        denominator_source, synthetic, recorded_at, change_reason, published_at, approved,
        release_id, source_comparison, source_value_differs)
    SELECT series_id, period_id, 1, true, numerator, denominator, value,
           false, false, '', '', greatest(value - 1.96 * spread, 0),
           least(value + 1.96 * spread, 100), 0.95, 'Wilson',
           '', true, %(recorded_at)s, '', %(published_at)s, true,
           %(release)s, '', false
      FROM bench_pairs
     ORDER BY n
    """,
]


def build(shape: Shape) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("strategy_load", stdout=io.StringIO())
    call_command("catalogue_load", stdout=io.StringIO())
    print(f"  migrated, strategy and catalogue in {time.perf_counter() - started:.0f} s")
    mark = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM kpis_kpi), (SELECT count(*) FROM strategy_place), "
            "(SELECT count(*) FROM kpis_breakdown)"
        )
        kpis, places, breakdowns = cursor.fetchone()
        if shape.kpis > kpis or shape.places > places or shape.breakdowns > breakdowns:
            raise SystemExit(
                f"the catalogue has {kpis} KPIs, {places} places and {breakdowns} breakdowns"
            )
        if shape.kpis * shape.places * shape.breakdowns < shape.series:
            raise SystemExit(f"{shape.rows:,} rows need {shape.series:,} series: raise the counts")
        cursor.execute("SELECT id FROM kpis_verdictruletable WHERE is_active")
        found = cursor.fetchone()
        if found is None:
            cursor.execute(
                "INSERT INTO kpis_verdictruletable (version, rules, is_active, created_at, note) "
                "SELECT coalesce(max(version), 0) + 1, '[]', true, now(), "
                "'Synthetic (bench/api_stream.py)' FROM kpis_verdictruletable RETURNING id"
            )
            found = cursor.fetchone()
        cursor.execute(
            "INSERT INTO kpis_release (title, kind, scheduled_for, announced_at, published_at, "
            "note, correction_note) VALUES ('Synthetic release (bench/api_stream.py)', "
            "'regular', %(at)s, %(at)s::timestamptz - interval '28 days', %(at)s, "
            "'Synthetic data for a benchmark, not real figures.', '') RETURNING id",
            {"at": PUBLISHED_AT},
        )
        release = cursor.fetchone()[0]
        cursor.execute(
            "SELECT (%s::date - make_interval(months => %s))::date", [LAST_MONTH, shape.periods - 1]
        )
        params = {
            **shape.__dict__,
            "series": shape.series,
            "release": release,
            "rule_table": found[0],
            "first_month": cursor.fetchone()[0],
            "last_month": LAST_MONTH,
            "published_at": PUBLISHED_AT,
            "computed_at": "2024-06-12 18:00:00+00",
            "recorded_at": "2024-05-14 12:00:00+00",
        }
        for statement in SYNTHETIC_SQL:
            cursor.execute(statement, params)
        cursor.execute(
            "SELECT (SELECT count(*) FROM kpis_assessment WHERE release_id = %(release)s), "
            "(SELECT count(*) FROM kpis_observation WHERE release_id = %(release)s)",
            params,
        )
        assessments, observations = cursor.fetchone()
    print(
        f"  {assessments:,} published assessments and {observations:,} observations inserted "
        f"in {time.perf_counter() - mark:.0f} s",
        flush=True,
    )
    if assessments != shape.rows or observations != shape.rows:
        raise SystemExit(f"expected {shape.rows:,} of each")
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("kpis_period", "kpis_series", "kpis_assessment", "kpis_observation"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  VACUUM ANALYZE in {time.perf_counter() - mark:.0f} s", flush=True)
    # The published read model, by the product's own service, as publishing stores it (after
    # fresh statistics, as publishing a large release takes them).
    from kpis.models import Release
    from kpis.services.published import published_figures_store

    mark = time.perf_counter()
    stored = published_figures_store(release=Release.objects.get(pk=params["release"]))
    print(
        f"  {stored:,} published figures stored (published_figures_store) in "
        f"{time.perf_counter() - mark:.0f} s",
        flush=True,
    )
    # Its UPDATE leaves the old row versions behind, as autovacuum would not for long.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) kpis_assessment")


# ---------------------------------------------------------------------------------------------
# The query as Django builds it (``--sql``)


def published_rows():
    """The rows the API reads, as stored: the plain SELECT behind its own COPY."""
    from kpis.selectors.figures import FigureFilters, observation_fields, observation_rows

    return observation_rows(filters=FigureFilters(), view="published").values_list(
        *observation_fields("published")
    )


def query_sql() -> None:
    """Prints (as a JSON line) the API's SELECT with its parameters bound, as psycopg would
    send them, how many published assessments the anonymous caller reads, and a request of
    one series to warm the worker up with."""
    import django

    django.setup()
    import psycopg
    from django.db import connection

    from kpis.selectors.figures import OBSERVATION_COLUMNS
    from kpis.selectors.public import published_assessments

    sql, params = published_rows().query.sql_with_params()
    connection.ensure_connection()
    text = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
    # The warm-up reads one series: reading more would leave the worker larger than it started
    # (the vintages step reads every period of each series it touches).
    kpi, place, dimension, category = (
        published_assessments()
        .order_by("id")
        .values_list(
            "series__kpi__code",
            "series__place__code",
            "series__breakdown__dimension",
            "series__breakdown__category",
        )
        .first()
    )
    found = {
        "sql": text,
        "rows": published_assessments().count(),
        "columns": OBSERVATION_COLUMNS,
        "warm_up": f"{PATH}&kpi={kpi}&place={place}&breakdown={dimension}:{category}",
    }
    print("JSON " + json.dumps(found))


def run_json(flag: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, flag], env=env, cwd=ROOT, capture_output=True, text=True
    )
    for line in done.stdout.splitlines():
        if line.startswith("JSON "):
            return json.loads(line[5:])
    raise RuntimeError(f"{flag} failed:\n{done.stderr[-3000:]}")


# ---------------------------------------------------------------------------------------------
# Memory of a process


def status_kb(pid: int, *names: str) -> dict[str, int]:
    """Fields of /proc/<pid>/status, in kB (0 for a field not there)."""
    found = dict.fromkeys(names, 0)
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in found:
                found[name] = int(rest.split()[0])
    return found


class MemoryWatch:
    """Samples a process's resident memory until stopped; its peak resident set (``VmHWM``)
    is reset at the start where the kernel allows it (``clear_refs``)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.start_rss = self.peak_rss = self.peak_anon = 0
        self.reset = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def __enter__(self) -> MemoryWatch:
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.reset = True
        self.start_rss = status_kb(self.pid, "VmRSS")["VmRSS"]
        self.thread.start()
        return self

    def sample(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(OSError):
                now = status_kb(self.pid, "VmRSS", "RssAnon")
                self.peak_rss = max(self.peak_rss, now["VmRSS"])
                self.peak_anon = max(self.peak_anon, now["RssAnon"])
            self.stopping.wait(SAMPLE_EVERY)

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join()
        with contextlib.suppress(OSError):
            if self.reset:
                self.peak_rss = max(self.peak_rss, status_kb(self.pid, "VmHWM")["VmHWM"])


# ---------------------------------------------------------------------------------------------
# The server and the two readers


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def gunicorn(database: str, static_root: Path, *, log: Path):
    """A gunicorn of one sync worker serving the database; yields its port and the worker's
    process id, stops it on leaving."""
    port = free_port()
    with log.open("ab") as output:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "setset.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--worker-class",
                "sync",
                "--timeout",
                "3600",  # a sync worker streaming a response does not report in meanwhile
                "--log-level",
                "warning",
            ],
            env=server_env(database, static_root),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({server.returncode})")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = get(port, "/healthz")
                if status == 200:
                    break
                raise RuntimeError(f"/healthz answered HTTP {status}")
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz in 60 s")
            time.sleep(0.2)
        workers = children(server.pid)
        if len(workers) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {workers}")
        yield port, workers[0]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Reading:
    name: str
    rows: int = 0
    seconds: float = 0.0
    first_byte: float = 0.0
    size: int = 0
    start_mb: float = 0.0
    peak_mb: float = 0.0
    private_mb: float = 0.0
    header: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def stream_api(port: int, worker: int) -> Reading:
    """The whole CSV, read a piece at a time; rows are newlines less the header's."""
    reading = Reading("API (gunicorn)")
    lines = 0
    head = b""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    with MemoryWatch(worker) as watch:
        started = time.perf_counter()
        connection.request("GET", PATH, headers={"Accept-Encoding": "identity"})
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{PATH} answered HTTP {response.status}: {response.read(500)!r}")
        while piece := response.read(READ_SIZE):
            if not reading.size:
                reading.first_byte = time.perf_counter() - started
            if b"\n" not in head:
                head += piece[:2000]
            reading.size += len(piece)
            lines += piece.count(b"\n")
        reading.seconds = time.perf_counter() - started
    connection.close()
    reading.rows = lines - 1
    reading.header = head.split(b"\r\n", 1)[0].decode("utf-8-sig")
    reading.start_mb = watch.start_rss / 1024
    reading.peak_mb, reading.private_mb = watch.peak_rss / 1024, watch.peak_anon / 1024
    return reading


def copy_rows(database: str, sql: str, *, name: str = "COPY (psycopg)") -> Reading:
    """The same rows by COPY, read a piece at a time and dropped; memory of its backend."""
    import psycopg

    reading = Reading(name)
    lines = 0
    with psycopg.connect(database_url(database), autocommit=True) as connection:
        backend = connection.info.backend_pid
        with connection.cursor() as cursor, MemoryWatch(backend) as watch:
            started = time.perf_counter()
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for piece in copy:
                    if not reading.size:
                        reading.first_byte = time.perf_counter() - started
                    reading.size += len(piece)
                    lines += bytes(piece).count(b"\n")
            reading.seconds = time.perf_counter() - started
    reading.rows = lines - 1
    reading.start_mb = watch.start_rss / 1024
    reading.peak_mb, reading.private_mb = watch.peak_rss / 1024, watch.peak_anon / 1024
    return reading


# ---------------------------------------------------------------------------------------------
# The table


def print_table(api: Reading, copy: Reading, *, expected: int, columns: list[str]) -> None:
    header = (
        f"{'reader':<16} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'first byte s':>12} "
        f"{'MB sent':>8} {'start MB':>8} {'peak MB':>8} {'private MB':>10}"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in (api, copy):
        print(
            f"{r.name:<16} {r.rows:>10,} {r.seconds:>8.1f} {r.rate:>9,.0f} {r.first_byte:>12.2f} "
            f"{r.size / 1e6:>8.0f} {r.start_mb:>8.0f} {r.peak_mb:>8.0f} {r.private_mb:>10.0f}"
        )
    print(
        "Memory: of the API's gunicorn worker, or of COPY's PostgreSQL backend (shared buffers "
        "it touched included); start and peak: resident set when the read began and at most "
        "during it; private: at most its own (RssAnon)."
    )
    ratio = api.rate / copy.rate
    fast = ratio >= RATE_AIM
    small = api.peak_mb < MEMORY_AIM_MB
    print(
        f"\nAPI/COPY rate: {ratio:.2f} (aim >= {RATE_AIM:.2f}): {'met' if fast else 'NOT met'}; "
        f"API worker peak {api.peak_mb:.0f} MB (aim < {MEMORY_AIM_MB:.0f} MB): "
        f"{'met' if small else 'NOT met'}"
    )
    checks = []
    if api.rows != expected:
        checks.append(f"the API sent {api.rows:,} rows, not {expected:,}")
    if copy.rows != expected:
        checks.append(f"COPY read {copy.rows:,} rows, not {expected:,}")
    if api.header.split(",") != columns:
        checks.append(f"the API's header is not OBSERVATION_COLUMNS: {api.header[:200]!r}")
    print("checks: " + ("; ".join(checks) if checks else f"both read {expected:,} rows + header"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DATABASE, help=f"{DATABASE_PREFIX}...")
    parser.add_argument("--rows", type=int, default=1_000_000, help="observations to stream")
    parser.add_argument("--periods", type=int, default=400, help="months per series")
    parser.add_argument("--kpis", type=int, default=25, help="KPIs with series")
    parser.add_argument("--places", type=int, default=25, help="places with series")
    parser.add_argument("--breakdowns", type=int, default=4, help="breakdowns per KPI and place")
    parser.add_argument("--reuse", action="store_true", help="keep a complete database")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="serve --database as it is (built by another benchmark), every published row",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/report.py)")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sql", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = Shape(args.rows, args.periods, args.kpis, args.places, args.breakdowns)
    if args.build:
        build(shape)
        return
    if args.sql:
        query_sql()
        return
    if not args.database.startswith(DATABASE_PREFIX):
        parser.error(f"--database must start with {DATABASE_PREFIX}")
    database = args.database
    print(
        f"{shape.rows:,} observations: {shape.series:,} series ({shape.kpis} KPIs x "
        f"{shape.places} places x {shape.breakdowns} breakdowns, as far as needed) x "
        f"{shape.periods} months; database {database}; {os.cpu_count()} CPUs",
        flush=True,
    )
    fingerprint = data_fingerprint(shape)
    found = database_fingerprint(database)
    if args.existing:
        if found is None:
            raise SystemExit(f"{database} is missing or its build did not complete")
        print("serving the database as it is (--existing)", flush=True)
    elif args.reuse and found == fingerprint:
        print("reusing the database built by an earlier run (--reuse)", flush=True)
    else:
        if args.reuse:
            why = "none complete" if found is None else "the shape or the files shaping it changed"
            print(f"building afresh ({why})", flush=True)
        started = time.perf_counter()
        recreate_database(database)
        subprocess.run(
            [sys.executable, __file__, "--build", *shape.argv()],
            env=build_env(database),
            cwd=ROOT,
            check=True,
        )
        database_admin(f"COMMENT ON DATABASE {database} IS '{fingerprint}'")
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="setset-bench-api-"))
    (work / "static").mkdir()
    log = work / "gunicorn.log"
    try:
        env = server_env(database, work / "static")
        query = run_json("--sql", env)
        expected = query["rows"] if args.existing else shape.rows
        if query["rows"] != expected:
            raise SystemExit(
                f"the anonymous caller reads {query['rows']:,} rows, not {shape.rows:,}"
            )
        warm = copy_rows(database, query["sql"], name="COPY (warm-up)")
        print(f"warm-up COPY: {warm.rows:,} rows in {warm.seconds:.1f} s", flush=True)
        with gunicorn(database, work / "static", log=log) as (port, worker):
            idle = status_kb(worker, "VmRSS")["VmRSS"] / 1024
            status, body = get(port, quote(query["warm_up"], safe="/?&=:"))
            if status != 200:
                raise RuntimeError(f"warm-up request: HTTP {status}: {body[:300]!r}")
            rows = body.count(b"\n") - 1
            warmed = status_kb(worker, "VmRSS")["VmRSS"] / 1024
            print(
                f"warm-up request: {rows:,} rows; the worker's resident memory {idle:.0f} MB "
                f"after /healthz, {warmed:.0f} MB after the warm-up",
                flush=True,
            )
            api = stream_api(port, worker)
            print(f"API: {api.rows:,} rows in {api.seconds:.1f} s", flush=True)
        copy = copy_rows(database, query["sql"])
        print(f"COPY: {copy.rows:,} rows in {copy.seconds:.1f} s", flush=True)
        print_table(api, copy, expected=expected, columns=query["columns"])
        if args.json:
            figures = {
                "rows": api.rows,
                "api_rows_per_second": round(api.rows / api.seconds, 1),
                "copy_rows_per_second": round(copy.rows / copy.seconds, 1),
            }
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    except BaseException:
        if log.exists():
            print(f"gunicorn's log ({log}), the end:\n" + log.read_text()[-3000:])
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
