"""Project-level views: liveness and readiness for the containers and load balancers."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from kpis.selectors.health import worker_heartbeat_latest


@never_cache
def healthz(request):
    """Liveness for the container: the app answers and the database responds."""
    problem = _database()
    return HttpResponse(problem or "ok", content_type="text/plain", status=503 if problem else 200)


@never_cache
def live(request):
    """Liveness: this process answers requests (nothing else is asked, so a restart is only
    for a process that cannot answer)."""
    return JsonResponse({"status": "live"})


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means not ready, said why
        return f"the database does not answer ({type(error).__name__})"
    return None


def _redis_is_the_broker() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def _redis() -> str | None:
    url = settings.CELERY_BROKER_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as error:
        return f"Redis does not answer ({type(error).__name__})"
    return None


def _worker() -> str | None:
    latest = worker_heartbeat_latest()
    if latest is None:
        return "no worker has ever beaten"
    age = (timezone.now() - latest).total_seconds()
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        return f"no worker has beaten for {age:.0f} s"
    return None


@never_cache
def ready(request):
    """Readiness: the database, Redis (when it is the broker) and a worker that beat lately.
    503, naming what is wrong, until all three are there."""
    problems = {"database": _database()}
    if _redis_is_the_broker():
        problems["redis"] = _redis()
    # The heartbeat lives in the database: ask only if it answers.
    problems["worker"] = _worker() if problems["database"] is None else "not asked"
    failed = {name: problem for name, problem in problems.items() if problem}
    checks = {name: failed.get(name, "ok") for name in problems}
    if not _redis_is_the_broker():
        checks["redis"] = "not used (the broker is not Redis)"
    return JsonResponse(
        {"status": "not ready" if failed else "ready", "checks": checks},
        status=503 if failed else 200,
    )
