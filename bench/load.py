"""Load run: concurrent users on the public pages, the group's dashboards and the API for a
minute, on gunicorn over the loopback; prints latency percentiles and fails on any server
error.

The data: the demo, as ``make run`` loads it (``manage.py demo_setup``), in the database
``setset_bench_pages_demo`` that ``bench/page_latency.py`` builds (built here the same way when
missing or stale; ``--reuse`` keeps a complete one). Served by gunicorn with the production
settings (``--workers`` sync workers, DEBUG off, persistent connections, static files
collected), with the API's throttles raised so that the run measures capacity rather than the
limits.

Users (threads, ``--users`` of each kind), each requesting its paths in turn, without pause,
for ``--seconds``:

* **public**: anonymous, the strategy, the KPI catalogue, a KPI's page, a place's page, an
  outcome, the release calendar and the methodology;
* **group**: logged in as the Strategy Implementation Group's demo user, the summary table, a
  KPI's dashboard and a place's dashboard;
* **api**: anonymous, a page of observations, the latest assessments, a KPI's observations as
  CSV, and the KPI catalogue.

Every answer must be 200; a 5xx or a connection failure is a server error, and the run exits
1 if there is one. Prints, per kind and overall: requests, requests per second, median, 95th
and 99th percentile and maximum latency (at the client, queueing included), and errors.

Run:  .venv/bin/python bench/load.py [--seconds 60] [--users 4] [--workers 2] [--reuse]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import page_latency as pages

KINDS = {
    "public": [
        "/",
        "/kpis/",
        "/kpis/TT-RECOVERY/",
        "/places/southend/",
        "/outcomes/O1/",
        "/releases/",
        "/methodology/",
    ],
    "group": ["/board/", "/board/kpis/TT-RECOVERY/", "/board/places/southend/"],
    "api": [
        "/api/v1/observations/?kpi=TT-RECOVERY&page_size=500",
        "/api/v1/assessments/?latest=true&page_size=500",
        "/api/v1/observations/?kpi=TT-RECOVERY&format=csv",
        "/api/v1/kpis/",
    ],
}


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0  # 4xx: the request was wrong, not the server


def user(session: pages.Session, paths: list[str], until: float, tally: Tally, lock) -> None:
    index = 0
    while time.monotonic() < until:
        path = paths[index % len(paths)]
        index += 1
        started = time.perf_counter()
        try:
            status, _, content = session.request("GET", path)
        except (OSError, http.client.HTTPException) as failure:
            with lock:
                tally.errors.append(f"{path}: {type(failure).__name__}")
            continue
        elapsed = time.perf_counter() - started
        with lock:
            if status >= 500:
                tally.errors.append(f"{path}: HTTP {status}")
            elif status != 200:
                tally.refused += 1
            else:
                tally.times.append(elapsed)


def percentile(times: list[float], share: int) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[share - 1] * 1000


def report(name: str, tally: Tally, seconds: float) -> str:
    if not tally.times:
        return f"{name:<8} no answers; errors {len(tally.errors)}"
    return (
        f"{name:<8} {len(tally.times):>7,} {len(tally.times) / seconds:>7.1f} "
        f"{statistics.median(tally.times) * 1000:>8.1f} {percentile(tally.times, 95):>8.1f} "
        f"{percentile(tally.times, 99):>8.1f} {max(tally.times) * 1000:>8.1f} "
        f"{tally.refused:>5} {len(tally.errors):>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run")
    parser.add_argument("--users", type=int, default=4, help="users of each kind (threads)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--reuse", action="store_true", help="keep a complete database")
    args = parser.parse_args()

    database = f"{pages.DATABASE_PREFIX}demo"
    fingerprint = pages.data_fingerprint("demo")
    if args.reuse and pages.database_fingerprint(database) == fingerprint:
        print(f"reusing {database}", flush=True)
    else:
        print(f"building {database} (the demo)", flush=True)
        pages.recreate_database(database)
        subprocess.run(
            [sys.executable, str(Path(pages.__file__)), "--build", "demo"],
            env=pages.build_env(database),
            cwd=pages.ROOT,
            check=True,
        )
        pages.database_admin(f"COMMENT ON DATABASE {database} IS '{fingerprint}'")

    work = Path(tempfile.mkdtemp(prefix="setset-bench-load-"))
    log = work / "gunicorn.log"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        env=pages.server_env(database, work / "static"),
        cwd=pages.ROOT,
        check=True,
    )
    tallies = {kind: Tally() for kind in KINDS}
    lock = threading.Lock()
    # The API's throttles raised: the run measures capacity, not the limits.
    raised = {"SETSET_API_ANON_RATE": "100000000/hour", "SETSET_API_USER_RATE": "100000000/hour"}
    with pages.gunicorn(
        database, work / "static", workers=args.workers, log=log, extra_env=raised
    ) as port:
        threads = []
        for kind, paths in KINDS.items():
            for number in range(args.users):
                session = pages.Session(port, timeout=args.timeout)
                if kind == "group":
                    session.log_in()
                # Each user starts at a different path, so the pages are mixed at every moment.
                rotated = paths[number % len(paths) :] + paths[: number % len(paths)]
                threads.append((session, rotated, tallies[kind]))
        until = time.monotonic() + args.seconds
        started = time.monotonic()
        workers = [
            threading.Thread(target=user, args=(session, paths, until, tally, lock))
            for session, paths, tally in threads
        ]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(timeout=args.seconds + args.timeout + 30)
        seconds = time.monotonic() - started
    everyone = Tally(
        times=[t for tally in tallies.values() for t in tally.times],
        errors=[e for tally in tallies.values() for e in tally.errors],
        refused=sum(tally.refused for tally in tallies.values()),
    )
    print(
        f"\n{args.users} users of each kind ({len(threads)} in all), {args.seconds:.0f} s, "
        f"gunicorn with {args.workers} sync workers, loopback\n"
    )
    print(
        f"{'kind':<8} {'requests':>7} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'4xx':>5} {'errors':>6}"
    )
    for kind, tally in tallies.items():
        print(report(kind, tally, seconds))
    print(report("all", everyone, seconds))
    for error in everyone.errors[:10]:
        print(f"  server error: {error}")
    print(f"\nserver errors: {len(everyone.errors)}")
    if everyone.errors:
        print(f"gunicorn's log ({log}), the end:\n" + log.read_text(errors="replace")[-3000:])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
