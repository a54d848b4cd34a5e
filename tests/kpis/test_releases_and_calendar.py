"""Releases, pre-release access, completeness and reminders."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kpis.models import AuditEvent, Observation, ReportingExpectation
from kpis.releases import pre_release_figures, release_publish, release_schedule
from kpis.reporting_calendar import completeness, reminders_send
from strategy.access import Role
from strategy.models import Organisation
from tests.kpis.test_uploads import GOOD, approve, uploaded

pytest_plugins = ["tests.kpis.test_uploads"]


def test_only_approved_values_reach_a_release_at_its_announced_time(lead, sig, make_user):
    approved = approve(uploaded(lead, GOOD), lead, sig)
    pending = uploaded(
        lead,
        b"#template_version=2025.1\nkpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
        b"MHST-PUPIL-COVERAGE,southend,2024-25,,40,80,50,,\n",
        name="second.csv",
    )
    assert pending.state == "validated"  # staged, never approved
    release = release_schedule(
        title="Q3 outcomes", scheduled_for=timezone.now() + timedelta(days=7), user=sig
    )
    with pytest.raises(ValidationError, match="not due yet"):
        release_publish(release=release, user=sig)
    published = release_publish(release=release, user=sig, now=release.scheduled_for)
    in_release = Observation.objects.filter(release=release)
    assert published == in_release.count() == 1
    assert set(in_release.values_list("source_upload_id", flat=True)) == {approved.pk}
    assert not in_release.filter(approved=False).exists()
    # Publishing twice changes nothing.
    assert release_publish(release=release, user=sig, now=release.scheduled_for) == 0


def test_releases_are_announced_in_advance(sig):
    with pytest.raises(ValidationError, match="in advance"):
        release_schedule(title="late", scheduled_for=timezone.now() - timedelta(hours=1), user=sig)


def test_pre_release_access_is_for_named_roles_and_recorded(lead, sig, make_user):
    approve(uploaded(lead, GOOD), lead, sig)
    figures = pre_release_figures(user=sig, purpose="board paper")
    assert figures.count() == 1
    event = AuditEvent.objects.get(action="pre_release_access")
    assert (event.actor, event.detail["purpose"]) == (sig, "board paper")
    for role in (Role.PLACE_LEAD, Role.ANALYST):
        with pytest.raises(PermissionDenied):
            pre_release_figures(user=make_user(f"x-{role.name}", role), purpose="curious")


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
    from kpis.reporting_calendar import latest_ended

    assert latest_ended(kind, today).label == label


def test_recent_expectations_are_generated_once_with_due_and_lock_dates(catalogue_data, settings):
    from kpis.reporting_calendar import expectations_generate_recent

    created = expectations_generate_recent(today=date(2026, 11, 24))
    assert created == 4  # three councils' school teams and EPUT's liaison coverage
    assert expectations_generate_recent(today=date(2026, 11, 24)) == 0
    expectation = ReportingExpectation.objects.filter(period__label="2025-26").first()
    # 2025-26 ends on 31 March 2026: due 45 days later, locked 75 days later.
    assert expectation.due_on == date(2026, 5, 15)
    assert expectation.locks_on == date(2026, 6, 14)
