"""Approving a large return: the decision is recorded at once, and its values are written by
a worker, with progress, once; small returns are written in the request as before.

"Large" is set to anything over 0 rows here (``RETURN_APPROVE_IN_BACKGROUND_ROWS``), so the
one-row return of the upload helpers (Southend, 30 of 60 pupils, 2024-25) takes that path."""

import os
import time

import pytest
from django.core.exceptions import ValidationError

from kpis.models import AuditEvent, Observation, ReturnUpload
from kpis.services.returns import (
    upload_approval_finish,
    upload_decide,
    upload_submit,
    upload_withdraw,
)
from kpis.services.validation import uploads_sweep_stuck
from tests.kpis.upload_helpers import GOOD, uploaded

State = ReturnUpload.State
#: A queue no worker reads, one per test process.
UNREAD_QUEUE = f"test-approval-unread-{os.getpid()}"


@pytest.fixture
def submitted(lead, settings):
    settings.RETURN_APPROVE_IN_BACKGROUND_ROWS = 0
    upload = uploaded(lead, GOOD)
    return upload_submit(upload=upload, user=lead, confirm_warnings=True)


def southend_coverage():
    return Observation.objects.filter(
        series__kpi__code="MHST-PUPIL-COVERAGE",
        series__place__code="southend",
        period__label="2024-25",
        is_current=True,
    )


@pytest.fixture
def no_worker(settings):
    """Tasks go to a queue of their own that no worker reads, then are thrown away."""
    from setset.celery import app

    queue = UNREAD_QUEUE
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    yield
    app.conf.task_always_eager, app.conf.task_default_queue = previous
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


@pytest.mark.django_db(transaction=True)
def test_a_large_approval_is_recorded_at_once_and_written_by_a_worker_once(
    client, submitted, sig, no_worker
):
    decided = upload_decide(upload=submitted, user=sig, approve=True)
    assert decided.state == State.APPROVING
    assert (decided.stage, decided.percent) == ("Waiting to write its 1 rows", 0)
    assert AuditEvent.objects.filter(upload=decided, action="approve", actor=sig).count() == 1
    assert not southend_coverage().exists()
    # The page says so, follows the progress, and offers no withdrawal.
    client.force_login(sig)
    page = client.get(f"/returns/{decided.pk}/").content.decode()
    assert "row of values is being written in the background" in page
    assert "return-progress.js" in page and "Withdraw this return" not in page
    assert client.get(f"/returns/{decided.pk}/status.json").json()["finished"] is False
    with pytest.raises(ValidationError):
        upload_withdraw(upload=decided, user=decided.uploaded_by, reason="oops")

    # The worker's part, as the task runs it; a second delivery finds nothing to do.
    done = upload_approval_finish(upload_id=decided.pk)
    assert (done.state, done.values_changed, done.percent) == (State.APPROVED, 1, 100)
    assert upload_approval_finish(upload_id=decided.pk) is None
    coverage = southend_coverage().get()
    assert (coverage.numerator, coverage.denominator, coverage.value) == (30, 60, 50)
    assert coverage.approved
    assert client.get(f"/returns/{decided.pk}/status.json").json()["finished"] is True


@pytest.mark.django_db(transaction=True)
def test_an_approval_whose_task_was_lost_is_sent_again_by_the_sweep(
    submitted, sig, no_worker, settings
):
    from setset.celery import app

    def waiting_tasks() -> int:
        with app.connection_for_write() as conn:
            return conn.default_channel.client.llen(UNREAD_QUEUE)

    upload_decide(upload=submitted, user=sig, approve=True)
    assert waiting_tasks() == 1
    settings.RETURN_STUCK_AFTER = 0
    time.sleep(0.01)
    assert uploads_sweep_stuck() == {"requeued": 1, "failed": 0}
    assert waiting_tasks() == 2


@pytest.mark.worker
def test_a_real_worker_writes_a_large_approval(celery_worker, submitted, sig):
    decided = upload_decide(upload=submitted, user=sig, approve=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        decided.refresh_from_db()
        if decided.state == State.APPROVED:
            break
        time.sleep(0.1)
    assert (decided.state, decided.values_changed) == (State.APPROVED, 1)
    assert southend_coverage().get().value == 50


@pytest.mark.django_db
def test_a_small_approval_is_written_in_the_request(lead, sig):
    upload = upload_submit(upload=uploaded(lead, GOOD), user=lead, confirm_warnings=True)
    decided = upload_decide(upload=upload, user=sig, approve=True)
    assert (decided.state, decided.values_changed) == (State.APPROVED, 1)
    assert southend_coverage().exists()
