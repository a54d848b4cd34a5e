"""A real worker process killed mid-validation (SIGKILL, as a deploy or the out-of-memory killer
does): the task comes back through Redis, another worker takes the attempt over, and the upload
reaches one final state exactly once, with no duplicate staged rows."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from kpis.models import AuditEvent, ReturnRow, ReturnUpload
from kpis.services.returns import upload_create
from tests.kpis.upload_helpers import HISTORY_HEADER
from tests.process_helpers import stop, wait_until

CELERY = Path(sys.executable).with_name("celery")
ROWS = [
    f"MHST-PUPIL-COVERAGE,{place},{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
    for place in ("southend", "thurrock", "essex")
    for year in range(1901, 2099)
]


def start_worker(queue: str, media: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "setset.settings.test",
        "TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "SETSET_TEST_MEDIA_ROOT": str(media),
        "SETSET_TEST_TASKS_EAGER": "false",
        # A dead worker's task comes back after 3 s; its attempt is silent after 2 s.
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "SETSET_RETURN_CLAIM_TIMEOUT": "2",
        # Checked five rows at a time, so there is a middle to kill it in.
        "SETSET_RETURN_CHUNK_BYTES": "10",
        "SETSET_RETURN_CHUNK_ROWS": "5",
    }
    command = [str(CELERY), "-A", "setset", "worker", "--pool=solo", "-Q", queue, "-l", "INFO"]
    command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_validation_is_survived(chunking_admin, settings, tmp_path):
    from setset.celery import app

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    queue = f"test-death-{os.getpid()}"
    log = tmp_path / "workers.log"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    first = start_worker(queue, tmp_path, log)
    second = None
    try:
        upload, _ = upload_create(
            user=chunking_admin,
            filename="long.csv",
            content=(HISTORY_HEADER + "".join(ROWS)).encode(),
            kind="history",
        )

        def mid_validation():
            staged = ReturnRow.objects.filter(upload=upload).exists()
            current = ReturnUpload.objects.get(pk=upload.pk)
            return current if staged and current.state == ReturnUpload.State.VALIDATING else None

        # Generous: a worker process takes a while to start on a busy machine.
        try:
            wait_until(
                mid_validation, seconds=150, what="the first worker to start checking", every=0.02
            )
        except AssertionError as missed:
            current = ReturnUpload.objects.get(pk=upload.pk)
            staged = ReturnRow.objects.filter(upload=upload).count()
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(
                f"{missed}: the upload is {current.state} with {staged} rows staged; "
                f"worker log ends:\n{tail}"
            ) from None
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed = ReturnUpload.objects.get(pk=upload.pk)
        assert killed.state == ReturnUpload.State.VALIDATING  # left half-done by the dead worker
        assert 0 < ReturnRow.objects.filter(upload=upload).count() < len(ROWS)

        # Redis hands the unacknowledged task on once the visibility timeout has passed since
        # it was delivered; a worker started after that restores it at its first look.
        time.sleep(3.5)
        second = start_worker(queue, tmp_path, log)

        def finished():
            current = ReturnUpload.objects.get(pk=upload.pk)
            return current if current.state == ReturnUpload.State.VALIDATED else None

        done = wait_until(finished, seconds=90, what="the second worker to finish")
        assert done.validation_attempts == 2
        assert done.row_count == len(ROWS)
        assert ReturnRow.objects.filter(upload=upload).count() == len(ROWS)
        staged = ReturnRow.objects.filter(upload=upload)
        assert staged.values("series_id", "period_id").distinct().count() == len(ROWS)
        time.sleep(4)  # long enough for any second delivery to have run
        assert AuditEvent.objects.filter(upload=upload, action="validated").count() == 1
        assert ReturnUpload.objects.get(pk=upload.pk).validation_attempts == 2
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        for worker in (first, second):
            stop(worker)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
