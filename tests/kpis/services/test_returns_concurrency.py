"""Two returns for the same place and period ingested at the same moment."""

import threading

import pytest
from django.db import connection

from kpis.models import Observation
from kpis.services.returns import upload_decide, upload_submit
from strategy.access import Role
from tests.kpis.upload_helpers import csv, uploaded


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_leave_one_current_version_and_both_in_history(lead, sig, make_user):
    first = upload_submit(
        upload=uploaded(lead, csv("MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,")),
        user=lead,
        confirm_warnings=True,
    )
    second = upload_submit(
        upload=uploaded(
            lead, csv("MHST-PUPIL-COVERAGE,southend,2024-25,,36,60,60,,"), name="second.csv"
        ),
        user=lead,
        confirm_warnings=True,
    )
    reviewers = [sig, make_user("second-reviewer", Role.SIG_MEMBER)]
    barrier = threading.Barrier(2)
    failures = []

    def decide(upload, reviewer):
        try:
            barrier.wait(timeout=10)
            upload_decide(upload=upload, user=reviewer, approve=True)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(upload, reviewer))
        for upload, reviewer in zip((first, second), reviewers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    history = Observation.objects.filter(
        series__kpi__code="MHST-PUPIL-COVERAGE", series__place__code="southend"
    ).order_by("version")
    assert [o.version for o in history] == [1, 2]
    assert history.filter(is_current=True).count() == 1
    assert {float(o.value) for o in history} == {50.0, 60.0}
