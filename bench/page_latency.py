"""Benchmark: latency of the internal pages beside a trivial view, on gunicorn; prints figures.

For each data size, a fresh PostgreSQL database (``setset_bench_pages_<size>``, dropped and
created afresh) is migrated and filled, then served by gunicorn (``setset.settings.production``,
DEBUG off, persistent database connections as deployed, static files collected into a
temporary STATIC_ROOT; ``--workers`` sync workers, 2 by default on this 2-core machine). CLIENTS
threads each log in once as the Strategy Implementation Group's demo user ``sig`` and, after
a warm-up, request each target in turn, REQUESTS requests per target shared among them. Every
response must be a 200: others are counted, and the first few printed.

Targets (a list, ``TARGETS``): the trivial view ``/healthz`` (setset/views.py: it runs
``SELECT 1`` on the database, so it is the ceiling of a page that touches the database: one
round trip, no session, no template), the summary table ``/board/``, the KPI page
``/board/kpis/<--kpi>/`` and the place page ``/board/places/<--place>/``. A target answering
404 is reported as not built (or its code unknown) and skipped.

Sizes:

* ``demo``: ``manage.py demo_setup``, as ``make run`` loads it.
* ``10x``: ten times the places and ten times the periods: ``demo_setup`` itself, run with two
  things changed. (1) Every place gets nine copies (``<code>-x1`` ... ``-x9``), loaded by the
  product's own ``geography_load`` with the original's kind, basis, validity and areas
  (copies of the SET totals are marked outside SET, so that no place is its own rest-of-SET
  benchmark); each copy carries its original's figures. (2) The demo's generator
  (``kpis.synthetic.demo_frame``) runs over a calendar reaching back far enough for ten times
  each period type's demo count (monthly KPIs: 780 months from 1960 rather than 78 from
  2019; financial quarters of 1999-00 are skipped, as ``parse_period`` does not read their
  labels back). CCGs cover the years before July 2022 and sub-ICB locations only the years
  after, so the sub-ICB series do not lengthen. Everything is then written by the demo's own
  path, as for the demo: the observations, a release of the older values with its published
  assessments, one revision, and the internal assessments of the progress engine (Celery
  tasks run in-process). That path writes about 1.5 million observations and 3 million
  assessments through the ORM: about 20 minutes and 10 GB of memory on this 2-core machine.

Prints, per size, the places, periods, observations and assessments, then per page the
median and 95th-percentile latency, their ratio to the trivial view's on the same server, and
whether both are within the aim (5 times the trivial view's), with requests per second and
the number of SQL queries the page makes (counted in-process with Django's test client
against the same database: served from the page cache, and composed afresh). The server runs
as deployed, with its cache (sessions and the dashboards' page cache, reporting/page_cache.py)
in Redis (``CACHE_URL``, database 13, emptied before each page). The timed requests are served
from the page cache, as every view is until the figures change; "first ms" is the one request
that composed the page, just after the cache was emptied. Latencies are wall times at the client,
queueing included: with more clients than workers, a request waits for a free worker. A page
stops after ``--budget`` seconds of timed requests; the requests not made are reported.

Run:  .venv/bin/python bench/page_latency.py [--sizes demo,10x] [--clients 4]
      [--requests 200] [--workers 2] [--kpi TT-RECOVERY] [--place southend] [--reuse]

``--reuse`` serves a size's database as an earlier run left it, rather than building it again,
when it was built from the same versions of the files that shape the data (``FINGERPRINTED``:
fixtures, migrations, the generator, the assessment engine and the write path; recorded as the
database's comment once its build completes); otherwise it is built afresh. For a rerun once
more pages exist: the 10x build is the long part.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
SIZES = ("demo", "10x", "england")
#: Built by bench/england.py, not here.
ENGLAND_DATABASE = "setset_bench_england"
#: Every benchmark's scratch databases start so (dropped and created afresh).
BENCH_DATABASE_PREFIX = "setset_bench_"
DATABASE_PREFIX = "setset_bench_pages_"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
USERNAME, PASSWORD = "sig", "demo-sig-set2023"  # strategy.services.DEMO_ACCOUNTS
AIM = 5.0  # times the trivial view's latency
CACHE_URL = "redis://127.0.0.1:6379/13"  # the served site's cache, emptied by each run
COPIES = 9  # copies of every place with a series: ten times the places
PERIOD_FACTOR = 10  # ten times the periods of every KPI


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # {kpi} and {place} are filled in from the arguments
    trivial: bool = False


TARGETS = [
    Target("trivial view", "/healthz", trivial=True),
    Target("summary table", "/board/"),
    Target("KPI page", "/board/kpis/{kpi}/"),
    Target("place page", "/board/places/{place}/"),
    Target("public KPI page", "/kpis/{kpi}/"),
]


# ---------------------------------------------------------------------------------------------
# Environments and databases


def database_url(database: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{database}"


def build_env(database: str) -> dict[str, str]:
    """Loading data: local settings with demo accounts allowed, Celery tasks run in-process
    (the progress engine computes the internal assessments before the build ends)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "setset.settings.local",
        "DATABASE_URL": database_url(database),
        "DJANGO_DEBUG": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }


def server_env(database: str, static_root: Path) -> dict[str, str]:
    """Serving: the production settings, over plain HTTP on the loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "setset.settings.production",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-any-deployment-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url(database),
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "memory://localhost/",
        # As deployed (docker-compose.yml): sessions and cached pages in Redis.
        "CACHE_URL": CACHE_URL,
        "PYTHONUNBUFFERED": "1",
    }


def flush_cache() -> None:
    """Empty the server's cache (its Redis database): pages are composed afresh."""
    import redis

    redis.Redis.from_url(CACHE_URL).flushdb()


def recreate_database(database: str) -> None:
    assert database.startswith(BENCH_DATABASE_PREFIX), database
    database_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    database_admin(f"CREATE DATABASE {database}")


# What the build runs to shape the data (the pages' own code is not here): ``--reuse`` builds a
# database again when any of these differ from the versions it was built with.
FINGERPRINTED = (
    "fixtures/**/*",
    "*/migrations/*.py",
    "strategy/models.py",
    "strategy/services.py",
    "kpis/models.py",
    "kpis/synthetic.py",
    "kpis/combine.py",
    "kpis/periods.py",
    "kpis/numbers.py",
    "kpis/assessment.py",
    "kpis/disclosure.py",
    "kpis/timeseries.py",
    "kpis/tasks.py",
    "kpis/stats/*.py",
    "kpis/services/calendar.py",
    "kpis/services/catalogue.py",
    "kpis/services/demo.py",
    "kpis/services/observations.py",
    "kpis/services/progress.py",
    "kpis/selectors/calendar.py",
    "kpis/selectors/catalogue.py",
    "kpis/selectors/observations.py",
    "kpis/selectors/places.py",
    "reporting/management/commands/demo_setup.py",
)
BUILD_VERSION = 1  # the build's own code: raise it when build() or scaled_demo() change


def files_fingerprint(label: str, patterns, *parts) -> str:
    """A digest of the build's own parameters and of the files that shape the data."""
    digest = hashlib.sha256(repr(parts).encode())
    files = {path for pattern in patterns for path in ROOT.glob(pattern) if path.is_file()}
    for path in sorted(files):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return f"{label} {digest.hexdigest()[:16]}"


def data_fingerprint(size: str) -> str:
    return files_fingerprint(
        f"bench/page_latency.py {size}", FINGERPRINTED, size, COPIES, PERIOD_FACTOR, BUILD_VERSION
    )


def database_admin(sql: str, params=()) -> list[tuple]:
    """A statement on the server's maintenance database; its rows, if it returns any."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def database_fingerprint(database: str) -> str | None:
    """What the last complete build of the database wrote on it (its comment), if any."""
    rows = database_admin(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [database],
    )
    return rows[0][0] if rows else None


# ---------------------------------------------------------------------------------------------
# Building the data (run in a process of its own, on DATABASE_URL: ``--build SIZE``)


def build(size: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"  migrated in {time.perf_counter() - started:.0f} s", flush=True)
    mark = time.perf_counter()
    if size == "demo":
        call_command("demo_setup", stdout=io.StringIO())
    else:
        with scaled_demo(copies=COPIES, factor=PERIOD_FACTOR):
            call_command("demo_setup", stdout=io.StringIO())
    print(f"  demo_setup in {time.perf_counter() - mark:.0f} s", flush=True)
    with open("/proc/self/status") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
    print(f"  peak memory of the build: {int(peak) / 1024**2:.1f} GiB", flush=True)


def month_shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


@contextlib.contextmanager
def longer_history(factor: int):
    """The demo generator with ``factor`` times the periods of every type, reaching back
    before its own calendar's start in 2019."""
    import pandas as pd
    from django.conf import settings

    from kpis import periods, synthetic

    original_specs, original_start = synthetic.period_specs, synthetic.START_MONTH

    def earlier(spec: periods.PeriodSpec) -> periods.PeriodSpec:
        """The period of the same type just before this one."""
        kind, year, month = spec.type, spec.start.year, spec.start.month
        if kind == periods.MONTH:
            return periods.month(*month_shift(year, month, -1))
        if kind == periods.QUARTER:
            year, month = month_shift(year, month, -3)
            return periods.quarter_of(spec.start.replace(year=year, month=month))
        if kind == periods.FINANCIAL_YEAR:
            return periods.financial_year(year - 1)
        if kind == periods.CALENDAR_YEAR:
            return periods.calendar_year(year - 1)
        if kind == periods.POOLED:
            return periods.pooled_years(year - 1, spec.end.year - 1)
        width = 12 if kind == periods.ROLLING_12M else 3
        return periods.rolling(width, *month_shift(spec.end.year, spec.end.month, -1))

    def specs(period_type: str, as_of) -> list[periods.PeriodSpec]:
        found = original_specs(period_type, as_of)
        longer = list(found)
        while found and len(longer) < factor * len(found):
            spec = earlier(longer[0])
            while not readable(spec):
                spec = earlier(spec)
            longer.insert(0, spec)
        return longer

    def readable(spec: periods.PeriodSpec) -> bool:
        """The product reads its own label back (not "1999-00 Q1" yet: skipped)."""
        try:
            return periods.parse_period(spec.label) == spec
        except periods.PeriodParseError:
            return False

    kinds = (
        periods.MONTH,
        periods.QUARTER,
        periods.FINANCIAL_YEAR,
        periods.CALENDAR_YEAR,
        periods.POOLED,
        periods.ROLLING_12M,
        periods.ROLLING_3M,
    )
    as_of = settings.DEMO_AS_OF
    earliest = min(specs(kind, as_of)[0].start for kind in kinds if original_specs(kind, as_of))
    synthetic.period_specs = specs
    # A year to spare: year-to-date periods sum from the start of their financial year.
    synthetic.START_MONTH = pd.Timestamp(earliest) - pd.DateOffset(years=1)
    try:
        yield
    finally:
        synthetic.period_specs, synthetic.START_MONTH = original_specs, original_start


@contextlib.contextmanager
def scaled_demo(*, copies: int, factor: int):
    """``demo_setup`` writes ``factor`` times the periods, at the places and ``copies`` copies
    of each.

    1. Load the strategy's places, then ``copies`` copies of every place through the product's
       own ``geography_load`` (same kind, basis, validity and areas; copies of the SET totals
       outside SET, so that no place is its own rest-of-SET benchmark).
    2. While inside, the demo's generator sees the original places only (copies would overlap
       them and spoil the exact partitions it combines upward) over the longer calendar, and
       each copy takes its original's figures.
    """
    from unittest import mock

    import pandas as pd
    from django.conf import settings
    from django.db import transaction

    from kpis.selectors.catalogue import SET_TOTALS
    from kpis.selectors.places import place_infos
    from kpis.services import demo, progress
    from strategy.services import LoadReport, geography_load, read_yaml, strategy_fixtures_load

    strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
    originals = place_infos()
    geography = read_yaml(settings.FIXTURES_DIR / "strategy" / "geography.yaml")
    totals = set(SET_TOTALS.values())
    rows = list(geography["places"])
    for number in range(1, copies + 1):
        geography["places"] += [
            {
                "code": f"{row['code']}-x{number}",
                "name": f"{row['name']} (copy {number})",
                "kind": row["kind"],
                "geography_basis": row["geography_basis"],
                "valid_from": row.get("valid_from"),
                "valid_to": row.get("valid_to"),
                "within_set": row.get("within_set", True) and row["code"] not in totals,
                "areas": row.get("areas") or [],
            }
            for row in rows
        ]
    with transaction.atomic():
        geography_load(data=geography, report=LoadReport())
    spent = dict.fromkeys(["generating the series", "published assessments", "internal"], 0.0)

    def timed(step: str, function):
        def run(*args, **kwargs):
            mark = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] += time.perf_counter() - mark

        return run

    generate = timed("generating the series", demo.demo_frame)

    def frame_with_copies(info, places, *, as_of, seed):
        frame = generate(info, originals, as_of=as_of, seed=seed)
        copied = [frame.assign(place=frame["place"] + f"-x{n}") for n in range(1, copies + 1)]
        return pd.concat([frame, *copied], ignore_index=True)

    with (
        longer_history(factor),
        mock.patch.object(demo, "place_infos", lambda: originals),
        mock.patch.object(demo, "demo_frame", frame_with_copies),
        mock.patch.object(
            demo,
            "published_assessments_compute",
            timed("published assessments", demo.published_assessments_compute),
        ),
        mock.patch.object(
            progress, "progress_recompute", timed("internal", progress.progress_recompute)
        ),
    ):
        yield
    spent["internal assessments (the progress engine)"] = spent.pop("internal")
    print(
        "  of which " + ", ".join(f"{step}: {seconds:.0f} s" for step, seconds in spent.items()),
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# Sizes and query counts, in-process (in a process of its own, on DATABASE_URL: ``--inspect``)


def inspect(paths: list[str]) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from kpis.models import Assessment, Observation, Period, Series
    from strategy.models import Place

    setup_test_environment()
    counts = {
        "places": Place.objects.count(),
        "places with series": Series.objects.values("place_id").distinct().count(),
        "series": Series.objects.count(),
        "periods": Period.objects.count(),
        "months": Period.objects.filter(type="month").count(),
        "observations": Observation.objects.count(),
        "internal assessments": Assessment.objects.filter(scope="internal").count(),
        "published assessments": Assessment.objects.filter(scope="published").count(),
    }
    client = Client()
    queries = {}
    # Signed in directly: the log-in form's lock-out backend wants a real request.
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is not None:
        client.force_login(user)
        for path in paths:
            client.get(path)  # the first request of a process fills caches
            counted = []
            caches["pages"].clear()
            for _ in range(2):  # composed afresh, then from the page cache
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(path)
                counted.append(len(captured))
            queries[path] = [response.status_code, *counted]
    print("JSON " + json.dumps({"counts": counts, "queries": queries}))


def run_inspect(database: str, static_root: Path, paths: list[str]) -> dict:
    """The sizes and query counts; on failure (the product not importable, say) says why and
    goes on without them."""
    done = subprocess.run(
        [sys.executable, __file__, "--inspect", *paths],
        env=server_env(database, static_root),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("JSON "):
            return json.loads(line[5:])
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    print(f"  counting rows and queries failed: {last}", flush=True)
    return {"counts": {}, "queries": {}}


# ---------------------------------------------------------------------------------------------
# The server and its clients


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database: str, static_root: Path, *, workers: int, log: Path, extra_env=None):
    """A gunicorn serving the database (``extra_env`` added to its environment); yields its
    port, stops it on leaving."""
    port = free_port()
    with log.open("ab") as output:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "setset.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            env={**server_env(database, static_root), **(extra_env or {})},
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
                status, _, content = Session(port, timeout=30).request("GET", "/healthz")
                if status == 200:
                    break
                raise RuntimeError(f"/healthz answered HTTP {status}: {content[:200]!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz in 60 s")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Session:
    """One client: an HTTP connection (reopened when the server closes it) and its cookies."""

    def __init__(self, port: int, *, timeout: float):
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()
        return response.status, response.getheader("Location"), content

    def log_in(self) -> None:
        """As a browser does: the form's CSRF cookie, then the credentials with its token."""
        status, _, _ = self.request("GET", "/accounts/login/")
        if status != 200 or "csrftoken" not in self.cookies:
            raise RuntimeError(f"log-in page: HTTP {status}, cookies {sorted(self.cookies)}")
        form = urlencode(
            {
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            }
        )
        status, location, content = self.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"log-in refused: HTTP {status} {location} {content[:200]!r}")


@dataclass
class Measurement:
    size: str
    target: Target
    path: str
    state: str = "measured"  # or "not built", "HTTP 500", ...
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: int = 0  # not made: the page's time budget ran out
    queries: int | None = None  # from the page cache
    queries_first: int | None = None  # composed afresh
    first: float | None = None  # seconds: the first request once the cache was emptied

    @property
    def median(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times, n=100, method="inclusive")[94] * 1000


def measure(
    sessions: list[Session],
    path: str,
    *,
    requests: int,
    warmup: int,
    budget: float,
    result: Measurement,
) -> None:
    """Each client warms up, then all request the path together until ``requests`` are done
    (or ``budget`` seconds have passed); records the wall time of every answered request."""
    share = [
        requests // len(sessions) + (i < requests % len(sessions)) for i in range(len(sessions))
    ]
    barrier = threading.Barrier(len(sessions) + 1)
    lock = threading.Lock()

    def client(index: int) -> None:
        session = sessions[index]
        for _ in range(warmup):
            with contextlib.suppress(OSError, http.client.HTTPException):
                session.request("GET", path)
        barrier.wait()
        deadline = time.monotonic() + budget
        times, errors, skipped = [], [], 0
        for done in range(share[index]):
            if time.monotonic() > deadline:
                skipped = share[index] - done
                break
            started = time.perf_counter()
            try:
                status, location, content = session.request("GET", path)
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            elapsed = time.perf_counter() - started
            if status == 200:
                times.append(elapsed)
            else:
                errors.append(f"HTTP {status} {location or ''} {content[:120]!r}")
        with lock:
            result.times.extend(times)
            result.errors.extend(errors)
            result.skipped += skipped

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started


def run_size(size: str, args, static_root: Path, log: Path) -> list[Measurement]:
    database = ENGLAND_DATABASE if size == "england" else f"{DATABASE_PREFIX}{size.lower()}"
    print(f"\n== {size}: database {database}", flush=True)
    fingerprint = data_fingerprint(size)
    found = database_fingerprint(database)
    if size == "england":
        if found is None:
            raise SystemExit(f"{database} is missing: build it with bench/england.py first")
        print("  serving the database bench/england.py built", flush=True)
    elif args.reuse and found == fingerprint:
        print("  reusing the database built by an earlier run (--reuse)", flush=True)
    else:
        if args.reuse:
            why = "none complete" if found is None else "the code or fixtures shaping it changed"
            print(f"  building afresh ({why})", flush=True)
        recreate_database(database)
        subprocess.run(
            [sys.executable, __file__, "--build", size],
            env=build_env(database),
            cwd=ROOT,
            check=True,
        )
        database_admin(f"COMMENT ON DATABASE {database} IS '{fingerprint}'")
    paths = {t.name: t.path.format(kpi=args.kpi, place=args.place) for t in TARGETS}
    facts = run_inspect(database, static_root, list(paths.values()))
    print("  " + ", ".join(f"{name}: {n:,}" for name, n in facts["counts"].items()), flush=True)
    results = []
    with gunicorn(database, static_root, workers=args.workers, log=log) as port:
        sessions = [Session(port, timeout=args.timeout) for _ in range(args.clients)]
        for session in sessions:
            session.log_in()
        for target in TARGETS:
            path = paths[target.name]
            result = Measurement(size=size, target=target, path=path)
            status, *query_counts = facts["queries"].get(path, [None, None, None])
            if status == 200:
                result.queries_first, result.queries = query_counts
            results.append(result)
            flush_cache()
            started = time.perf_counter()
            probe, location, content = sessions[0].request("GET", path)
            result.first = time.perf_counter() - started
            if probe == 404:
                result.state = "not built (404)"
            elif probe != 200:
                result.state = f"HTTP {probe}"
                result.errors.append(f"HTTP {probe} {location or ''} {content[:300]!r}")
            else:
                measure(
                    sessions,
                    path,
                    requests=args.requests,
                    warmup=args.warmup,
                    budget=args.budget,
                    result=result,
                )
                if not result.times:
                    result.state = "no answer"
            load = os.getloadavg()[0]
            print(f"  {target.name} ({path}): {summary(result)}; load {load:.1f}", flush=True)
    return results


def as_json(result: Measurement) -> dict:
    answered = bool(result.times)
    return {
        "size": result.size,
        "page": result.target.name,
        "path": result.path,
        "trivial": result.target.trivial,
        "state": result.state,
        "requests": len(result.times) + len(result.errors),
        "errors": len(result.errors),
        "median_ms": round(result.median, 2) if answered else None,
        "p95_ms": round(result.p95, 2) if answered else None,
        "first_ms": round(result.first * 1000, 1) if result.first is not None else None,
        "queries": result.queries,
        "queries_first": result.queries_first,
    }


def summary(result: Measurement) -> str:
    if not result.times:
        return result.state + (f": {result.errors[0]}" if result.errors else "")
    return (
        f"{len(result.times)} answered in {result.seconds:.1f} s, median {result.median:.1f} ms, "
        f"p95 {result.p95:.1f} ms, {len(result.errors)} errors"
        + (f", {result.skipped} not made (time budget)" if result.skipped else "")
    )


# ---------------------------------------------------------------------------------------------
# The table


def print_table(results: list[Measurement]) -> None:
    header = (
        f"{'size':<5} {'page':<14} {'path':<27} {'requests':>8} {'errors':>6} {'median ms':>9} "
        f"{'p95 ms':>8} {'median x':>8} {'p95 x':>6} {'within 5x':>9} {'req/s':>6} "
        f"{'queries':>7} {'first ms':>8} {'first queries':>13}"
    )
    print("\n" + header)
    print("-" * len(header))
    trivial: dict[str, Measurement] = {r.size: r for r in results if r.target.trivial and r.times}
    for r in results:
        queries = "-" if r.queries is None else str(r.queries)
        queries_first = "-" if r.queries_first is None else str(r.queries_first)
        first = "-" if r.first is None else f"{r.first * 1000:.1f}"
        start = f"{r.size:<5} {r.target.name:<14} {r.path:<27}"
        if not r.times:
            print(f"{start} {r.state}")
            continue
        base = trivial.get(r.size)
        ratio_median = r.median / base.median if base else float("nan")
        ratio_p95 = r.p95 / base.p95 if base else float("nan")
        if r.target.trivial:
            within = "-"
        elif ratio_median <= AIM and ratio_p95 <= AIM:
            within = "yes"
        else:
            within = "no"
        rate = len(r.times) / r.seconds if r.seconds else float("nan")
        print(
            f"{start} {len(r.times) + len(r.errors):>8} {len(r.errors):>6} {r.median:>9.1f} "
            f"{r.p95:>8.1f} {ratio_median:>8.1f} {ratio_p95:>6.1f} {within:>9} {rate:>6.1f} "
            f"{queries:>7} {first:>8} {queries_first:>13}"
        )
    short = [r for r in results if r.skipped]
    for r in short:
        print(
            f"{r.size} {r.path}: {r.skipped} requests not made, the page's time budget "
            "(--budget) ran out"
        )
    failures = [(r, e) for r in results for e in r.errors]
    if failures:
        print(f"\n{len(failures)} requests did not answer 200; the first few:")
        for r, error in failures[:10]:
            print(f"  {r.size} {r.path}: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="comma-separated: demo,10x,england"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per client")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--kpi", default="TT-RECOVERY", help="KPI code for the KPI page")
    parser.add_argument("--place", default="southend", help="place code for the place page")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per page at most")
    parser.add_argument("--reuse", action="store_true", help="keep a complete database")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/report.py)")
    parser.add_argument("--build", choices=SIZES, help=argparse.SUPPRESS)
    parser.add_argument("--inspect", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build)
        return
    if args.inspect:
        inspect(args.inspect)
        return
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = set(sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes {sorted(unknown)}: choose from {', '.join(SIZES)}")
    print(
        f"{args.clients} clients, {args.requests} requests per page after {args.warmup} each "
        f"to warm up; gunicorn with {args.workers} sync workers, production settings; "
        f"{os.cpu_count()} CPUs"
    )
    work = Path(tempfile.mkdtemp(prefix="setset-bench-pages-"))
    try:
        static_root = work / "static"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
            env=server_env(f"{DATABASE_PREFIX}unused", static_root),
            cwd=ROOT,
            check=True,
        )
        print(f"static files collected in {time.perf_counter() - started:.0f} s")
        results = []
        for size in sizes:
            results.extend(run_size(size, args, static_root, work / "gunicorn.log"))
        print_table(results)
        if args.json:
            args.json.write_text(json.dumps([as_json(r) for r in results], indent=2) + "\n")
    except BaseException:
        log = work / "gunicorn.log"
        if log.exists():
            print(f"gunicorn's log ({log}), the end:\n" + log.read_text()[-3000:])
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
