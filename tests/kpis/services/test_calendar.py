"""The reporting calendar: expectations, due and lock dates, and reminders."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from kpis.models import ReportingExpectation
from kpis.services.calendar import expectations_generate_recent, latest_ended, reminders_send
from strategy.access import Role
from strategy.models import Organisation


def test_reminders_go_to_granted_leads_and_their_organisations_contacts(open_period, make_user):
    thurrock_council = Organisation.objects.get(code="TC")
    thurrock_council.contact_email = "returns@thurrock.example"
    thurrock_council.save()
    lead = make_user("thurrock-lead", Role.PLACE_LEAD, places=("thurrock",))
    lead.email, lead.organisation = "lead@thurrock.example", thurrock_council
    lead.save()
    analyst = make_user("analyst", Role.ANALYST, places=("thurrock",))
    analyst.email = "analyst@example.org"
    analyst.save()
    due = ReportingExpectation.objects.filter(period__label="2024-25").first().due_on
    today = max(due - timedelta(days=3), timezone.localdate())
    assert reminders_send(today=today) == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "lead@thurrock.example",
        "returns@thurrock.example",
    ]
    body = mail.outbox[0].body
    assert "MHST-PUPIL-COVERAGE for Thurrock, 2024-25" in body
    assert "Southend" not in body
    # Once a day: a second run the same day sends nothing.
    assert reminders_send(today=today) == 0


@pytest.mark.parametrize(
    ("today", "kind", "label"),
    [
        (date(2026, 11, 24), "financial_year", "2025-26"),
        (date(2026, 4, 1), "financial_year", "2025-26"),
        (date(2026, 3, 31), "financial_year", "2024-25"),
        (date(2026, 11, 24), "quarter", "2026-27 Q2"),
        (date(2026, 1, 5), "quarter", "2025-26 Q3"),
        (date(2026, 1, 5), "month", "Dec 2025"),
    ],
)
def test_latest_ended_period(today, kind, label):
    assert latest_ended(kind, today).label == label


def test_recent_expectations_are_generated_once_with_due_and_lock_dates(catalogue_data, settings):
    created = expectations_generate_recent(today=date(2026, 11, 24))
    assert created == 4  # three councils' school teams and EPUT's liaison coverage
    assert expectations_generate_recent(today=date(2026, 11, 24)) == 0
    expectation = ReportingExpectation.objects.filter(period__label="2025-26").first()
    # 2025-26 ends on 31 March 2026: due 45 days later, locked 75 days later.
    assert expectation.due_on == date(2026, 5, 15)
    assert expectation.locks_on == date(2026, 6, 14)
