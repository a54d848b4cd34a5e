"""Reads of the reporting calendar: completeness of returns."""

from datetime import timedelta

from django.utils import timezone

from kpis.models import ReportingExpectation
from kpis.selectors.calendar import STATES, completeness, expectations_with_status
from kpis.services.releases import release_publish, release_schedule
from kpis.services.returns import upload_decide, upload_submit
from tests.kpis.upload_helpers import GOOD, approve, uploaded


def counts(**nonzero):
    return {state: nonzero.get(state, 0) for state in STATES}


def test_completeness_counts_each_state(lead, sig):
    # Four expectations for 2024-25: school support teams from the three councils and
    # liaison coverage from EPUT. Southend's is approved.
    approve(uploaded(lead, GOOD), lead, sig)
    due = ReportingExpectation.objects.filter(period__label="2024-25").first().due_on
    assert completeness(period_label="2024-25", today=due) == counts(approved=1, expected=3)
    assert completeness(period_label="2024-25", today=due + timedelta(days=1)) == counts(
        approved=1, late=3
    )


def test_a_return_only_uploaded_or_submitted_is_not_counted_as_received(lead, sig):
    upload = uploaded(lead, GOOD)
    due = ReportingExpectation.objects.filter(period__label="2024-25").first().due_on
    assert completeness(period_label="2024-25", today=due) == counts(uploaded=1, expected=3)
    upload = upload_submit(upload=upload, user=lead, confirm_warnings=True)
    (southend,) = [
        e
        for e in expectations_with_status(today=due, period_label="2024-25")
        if e.status != "expected"
    ]
    assert (southend.status, southend.received, southend.upload_id) == (
        "submitted",
        True,
        upload.pk,
    )
    upload_decide(upload=upload, user=sig, approve=True)
    release = release_schedule(
        title="Q", scheduled_for=timezone.now() + timedelta(days=1), user=sig
    )
    release_publish(release=release, user=sig, now=release.scheduled_for)
    assert completeness(period_label="2024-25", today=due) == counts(released=1, expected=3)
