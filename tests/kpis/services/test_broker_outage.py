"""Redis down when a place lead uploads: the upload is stored, the lead is told it is queued,
and once Redis is back the sweep queues it and a real worker checks it; nothing is lost.

A Redis server of its own on a spare port is started and stopped by the test, and the worker
is a real Celery process consuming from it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from kpis.models import ReturnRow, ReturnUpload
from kpis.services.validation import uploads_sweep_stuck
from tests.kpis.upload_helpers import GOOD
from tests.process_helpers import spare_port, stop, wait_until

CELERY = Path(sys.executable).with_name("celery")


def start_redis(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                return server
        except redis.ConnectionError:
            time.sleep(0.05)
    server.kill()
    raise AssertionError(f"redis-server did not start on port {port}")


@pytest.fixture
def own_broker(settings, tmp_path):
    """This process sends its tasks to a Redis of the test's own, not yet started; uploads are
    files a worker process can read."""
    from setset.celery import app

    port = spare_port()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    previous = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    app._after_fork()  # forget the connections to the usual broker
    yield port
    app.conf.task_always_eager, app.conf.broker_url = previous
    app._after_fork()


def start_worker(port: int, media: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "setset.settings.test",
        "TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "TEST_CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "SETSET_TEST_MEDIA_ROOT": str(media),
        "SETSET_TEST_TASKS_EAGER": "false",
    }
    command = [str(CELERY), "-A", "setset", "worker", "--pool=solo", "-l", "INFO"]
    command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_upload_while_redis_is_down_is_kept_and_checked_when_it_returns(
    client, lead, own_broker, settings, tmp_path, caplog
):
    port = own_broker
    client.force_login(lead)
    # Redis is down (never started): the upload is stored and the lead sent to its page.
    started = time.monotonic()
    response = client.post("/returns/", {"file": _file(), "kind": "quarterly"})
    assert response.status_code == 302, response.content[:500]
    assert time.monotonic() - started < 30
    upload = ReturnUpload.objects.get()
    assert upload.state == ReturnUpload.State.RECEIVED
    # The task could not be sent, and said so: it went nowhere else.
    unsent = [r.getMessage() for r in caplog.records if r.name == "kpis.services.enqueue"]
    assert len(unsent) == 1 and "the broker is unreachable" in unsent[0]
    page = client.get(response["Location"]).content.decode()
    assert "Your return is stored and queued to be checked" in page

    server = start_redis(port)
    worker = None
    log = tmp_path / "worker.log"
    try:
        worker = start_worker(port, tmp_path, log)
        settings.RETURN_STUCK_AFTER = 0
        assert uploads_sweep_stuck() == {"requeued": 1, "failed": 0}
        try:
            wait_until(
                lambda: ReturnUpload.objects.filter(
                    pk=upload.pk, state=ReturnUpload.State.VALIDATED
                ).exists(),
                seconds=120,
                what="the worker to check the upload",
            )
        except AssertionError as missed:
            raise AssertionError(f"{missed}: {log.read_text(errors='replace')[-3000:]}") from None
        upload.refresh_from_db()
        # Southend's 30 of 60 pupils: one row, staged once.
        assert upload.row_count == 1
        assert ReturnRow.objects.filter(upload=upload).count() == 1
    finally:
        stop(worker)
        stop(server)


def _file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("return.csv", GOOD, content_type="text/csv")
