"""COPY into PostgreSQL: chunks of a large file copied on a second connection."""

import pytest

from kpis.bulk.copy import BackgroundCopy
from kpis.models import ReturnRow
from tests.kpis.upload_helpers import SIX_HISTORY_ROWS, history_uploaded


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_chunks_are_copied_in_the_background_with_the_same_outcome(
    chunking_admin,
):
    from django.db import connection, transaction

    writer = BackgroundCopy.where_useful()
    assert writer is not None and not connection.in_atomic_block
    writer.close()
    with transaction.atomic():
        assert BackgroundCopy.where_useful() is None  # in line, inside the transaction

    upload = history_uploaded(chunking_admin, SIX_HISTORY_ROWS, "six-rows.csv")
    assert (upload.state, upload.row_count) == ("validated", 6), upload.issues
    staged = ReturnRow.objects.filter(upload=upload).order_by("row")
    assert list(staged.values_list("row", "value")) == [(row, 50) for row in range(2, 8)]

    # An error in the last chunk: the chunks already copied are removed.
    bad = SIX_HISTORY_ROWS + "MHST-PUPIL-COVERAGE,thurrock,FY24,,30,60,50,,\n"
    upload = history_uploaded(chunking_admin, bad, "bad.csv")
    assert upload.state == "validation_failed"
    assert [(i["row"], i["code"]) for i in upload.issues] == [(8, "period_invalid")]
    assert not ReturnRow.objects.filter(upload=upload).exists()
