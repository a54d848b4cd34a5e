"""The same task delivered twice (a redelivery after a lost acknowledgement, or a second
send): the work is done once, with no duplicate rows."""

import time

import pytest

from kpis.models import AuditEvent, ReturnRow, ReturnUpload
from kpis.services.returns import upload_create
from kpis.tasks import upload_validate_task
from tests.kpis.upload_helpers import HISTORY_HEADER
from tests.process_helpers import wait_until

ROWS = [
    f"MHST-PUPIL-COVERAGE,{place},{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
    for place in ("southend", "thurrock")
    for year in range(1990, 2020)
]


@pytest.mark.worker
def test_a_validation_delivered_twice_stages_each_row_once(celery_worker, catalogue_data, sig):
    upload, _ = upload_create(
        user=sig,
        filename="history.csv",
        content=(HISTORY_HEADER + "".join(ROWS)).encode(),
        kind="history",
    )
    # Once from the upload itself, and twice more, as a redelivery would.
    upload_validate_task.delay(upload.pk)
    upload_validate_task.delay(upload.pk)
    wait_until(
        lambda: ReturnUpload.objects.filter(pk=upload.pk, state=ReturnUpload.State.VALIDATED),
        seconds=60,
        what="the worker to check the upload",
    )
    time.sleep(2)  # long enough for the other deliveries to have run (each takes ~30 ms)
    upload.refresh_from_db()
    assert upload.state == ReturnUpload.State.VALIDATED
    assert upload.row_count == len(ROWS)
    staged = ReturnRow.objects.filter(upload=upload)
    assert staged.count() == len(ROWS)
    assert staged.values("series_id", "period_id").distinct().count() == len(ROWS)
    assert AuditEvent.objects.filter(upload=upload, action="validated").count() == 1
    assert upload.validation_attempts == 1
