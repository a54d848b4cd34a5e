"""Reads of the reporting calendar: completeness of returns."""

from datetime import timedelta

from kpis.models import ReportingExpectation
from kpis.selectors.calendar import completeness
from tests.kpis.upload_helpers import GOOD, approve, uploaded


def test_completeness_counts_met_late_and_outstanding(lead, sig):
    # Four expectations for 2024-25: school support teams from the three councils and
    # liaison coverage from EPUT. Southend's is met.
    approve(uploaded(lead, GOOD), lead, sig)
    due = ReportingExpectation.objects.filter(period__label="2024-25").first().due_on
    assert completeness(period_label="2024-25", today=due) == {
        "met": 1,
        "late": 0,
        "outstanding": 3,
    }
    assert completeness(period_label="2024-25", today=due + timedelta(days=1)) == {
        "met": 1,
        "late": 3,
        "outstanding": 0,
    }
