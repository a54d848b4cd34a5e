"""A release publishing while its worker dies (SIGKILL mid-transaction): nothing of it is
published, and the next run of the beat task publishes it once, with one set of figures.

The worker is a real Celery process; it is caught mid-publication by holding the series rows
its transaction must lock, then killed while it waits."""

import signal
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from kpis.models import Assessment, AuditEvent, Observation, Release
from kpis.tasks import releases_publish_due_task
from tests.kpis.release_helpers import two_releases_and_a_pending_one
from tests.kpis.services.test_worker_death import start_worker
from tests.process_helpers import stop, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _dsn() -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"


def other_sessions(condition: str) -> int:
    """How many other sessions on the test database meet the ``pg_stat_activity`` condition."""
    with psycopg.connect(_dsn(), autocommit=True) as probe:
        return probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND pid <> pg_backend_pid() AND {condition}"
        ).fetchone()[0]


def test_a_release_whose_worker_dies_mid_publication_publishes_once(catalogue_data, sig, tmp_path):
    from setset.celery import app

    pending = two_releases_and_a_pending_one(sig).pending
    # Due now: as if its announced time had come.
    Release.objects.filter(pk=pending.pk).update(
        scheduled_for=timezone.now() - timedelta(minutes=1)
    )
    july = Observation.objects.get(period__label="Jul 2023", is_current=True)
    queue = f"test-release-death-{id(tmp_path)}"
    log = tmp_path / "workers.log"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    first = second = None
    holder = psycopg.connect(_dsn())
    try:
        # Hold every series row: the publication's transaction waits for them part-way.
        holder.execute("SELECT id FROM kpis_series FOR UPDATE")
        first = start_worker(queue, tmp_path, log)
        releases_publish_due_task.delay()

        wait_until(
            lambda: other_sessions("wait_event_type = 'Lock'"),
            seconds=120,
            what="the worker to be mid-publication",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        holder.rollback()

        # The dead worker's transaction is gone with it: nothing was published.
        wait_until(
            lambda: not other_sessions("state LIKE 'idle in transaction%'"),
            seconds=30,
            what="the dead worker's transaction to end",
        )
        pending.refresh_from_db()
        assert pending.published_at is None
        assert Assessment.objects.filter(release=pending).count() == 0
        july.refresh_from_db()
        assert july.release_id is None

        # Beat sends the task again a minute later; a new worker publishes the release once.
        second = start_worker(queue, tmp_path, log)
        releases_publish_due_task.delay()
        releases_publish_due_task.delay()  # and once more, as an overlapping tick would

        def published():
            pending.refresh_from_db()
            return pending if pending.published_at is not None else None

        wait_until(published, seconds=120, what="the release to be published")
        time.sleep(2)  # any other delivery has run by now
        july.refresh_from_db()
        assert july.release_id == pending.pk
        assert AuditEvent.objects.filter(action="release", release=pending).count() == 1
        july_assessments = Assessment.objects.filter(
            release=pending, series=july.series, period=july.period
        )
        assert july_assessments.count() == 1
        # 45 of 60: 75%, as published.
        assert july_assessments.get().public_value == pytest.approx(75.0)
    finally:
        holder.close()
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        stop(first)
        stop(second)
