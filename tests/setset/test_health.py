"""Liveness and readiness: the database, Redis and a worker that beat lately, each named when
it is what is missing."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kpis.models import WorkerHeartbeat
from kpis.tasks import worker_heartbeat_task


def test_liveness_asks_nothing_but_the_process(client):
    response = client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "live"})
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.worker
def test_ready_once_a_real_worker_has_beaten_through_redis(client, celery_worker):
    assert client.get("/health/ready").json()["checks"]["worker"] == "no worker has ever beaten"
    worker_heartbeat_task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.1)
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "worker": "ok"},
    }
    # The worker that ran the task names itself.
    assert WorkerHeartbeat.objects.get().worker not in ("", "worker")


@pytest.mark.django_db
def test_not_ready_when_the_last_heartbeat_is_old(client):
    WorkerHeartbeat.objects.create(
        worker="celery@a", beat_at=timezone.now() - timedelta(minutes=10)
    )
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["worker"].startswith("no worker has beaten for 6")
    assert body["checks"]["database"] == body["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_not_ready_when_redis_does_not_answer(client, settings):
    WorkerHeartbeat.objects.create(worker="celery@a", beat_at=timezone.now())
    # Nothing listens on port 1: a real refused connection.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "Redis does not answer (ConnectionError)",
        "worker": "ok",
    }


@pytest.mark.django_db
def test_redis_is_not_asked_when_it_is_not_the_broker(client, settings):
    WorkerHeartbeat.objects.create(worker="celery@a", beat_at=timezone.now())
    settings.CELERY_BROKER_URL = "filesystem://"
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "worker": "ok",
        "redis": "not used (the broker is not Redis)",
    }
