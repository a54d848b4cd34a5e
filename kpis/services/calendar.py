"""The reporting calendar: expectations with due and lock dates, reopening and reminders.

Dates are Europe/London calendar dates. A locally supplied KPI is expected from each of the
smallest places it is reported for, for each period, due and locked a configurable number of
days after the period ends; the Strategy Implementation Group can reopen a locked period for
one place.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from strategy.access import Action, user_can
from strategy.models import Place, User

from .. import periods
from ..combine import block_places
from ..models import AuditEvent, Kpi, ReportingExpectation
from ..selectors.calendar import expectations_with_status, reminder_recipients
from ..selectors.places import place_infos
from .audit import audit
from .observations import period_get_or_create


@transaction.atomic
def expectations_generate(*, period_label: str) -> int:
    """Expect every locally supplied KPI of this period type from its places; idempotent."""
    spec = periods.parse_period(period_label)
    period = period_get_or_create(spec)
    places = place_infos()
    place_ids = dict(Place.objects.values_list("code", "id"))
    due = spec.end + timedelta(days=settings.RETURN_DUE_DAYS)
    locks = spec.end + timedelta(days=settings.RETURN_LOCK_DAYS)
    wanted = []
    for kpi in Kpi.objects.filter(locally_supplied=True, period_type=spec.type):
        info = _KpiShape(kpi.geography_basis, kpi.lowest_level)
        for place in block_places(info, places):
            if place.valid_at(spec.end):
                wanted.append(
                    ReportingExpectation(
                        kpi=kpi,
                        place_id=place_ids[place.code],
                        period=period,
                        due_on=due,
                        locks_on=locks,
                    )
                )
    before = ReportingExpectation.objects.filter(period=period).count()
    ReportingExpectation.objects.bulk_create(wanted, ignore_conflicts=True)
    return ReportingExpectation.objects.filter(period=period).count() - before


class _KpiShape:
    """What block_places needs to know of a KPI."""

    def __init__(self, basis: str, lowest_level: str):
        self.basis = basis
        self.lowest_level = lowest_level


@transaction.atomic
def expectation_reopen(
    *, expectation: ReportingExpectation, user: User, until: date
) -> ReportingExpectation:
    """Reopen a locked period for one place (Strategy Implementation Group only)."""
    if not user_can(user, Action.REOPEN_PERIOD):
        raise PermissionDenied("Only the Strategy Implementation Group reopens a period.")
    expectation.reopened_until = until
    expectation.reopened_by = user
    expectation.save(update_fields=["reopened_until", "reopened_by"])
    audit(
        action=AuditEvent.Action.REOPEN,
        actor=user,
        kpi=expectation.kpi.code,
        place=expectation.place.code,
        period=expectation.period.label,
        until=until.isoformat(),
    )
    return expectation


def reminders_send(*, today: date | None = None) -> int:
    """E-mail each recipient once a day about their outstanding and late expectations."""
    today = today or timezone.localdate()
    window = today + timedelta(days=settings.RETURN_REMINDER_DAYS)
    recipients = reminder_recipients()
    pending: dict[str, list] = defaultdict(list)
    for expectation in expectations_with_status(today=today):
        if expectation.received or expectation.due_on > window:
            continue
        if today > expectation.locks_on and not (
            expectation.reopened_until and today <= expectation.reopened_until
        ):
            continue
        for address in recipients.get(expectation.place_id, ()):
            pending[address].append(expectation)
    already = set(
        AuditEvent.objects.filter(action=AuditEvent.Action.REMINDER, at__date=today).values_list(
            "detail__to", flat=True
        )
    )
    sent = 0
    for address, items in sorted(pending.items()):
        if address in already:
            continue
        lines = [
            f"- {e.kpi.code} for {e.place.name}, {e.period.label}: "
            f"{'late, was due' if e.status == 'late' else 'due'} {e.due_on:%d %B %Y}"
            for e in sorted(items, key=lambda e: (e.due_on, e.kpi.code, e.place.code))
        ]
        send_mail(
            subject=f"SET Outcomes: {len(items)} return value(s) outstanding",
            message="These quarterly return values are outstanding:\n\n" + "\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
        audit(action=AuditEvent.Action.REMINDER, to=address, items=len(items))
        sent += 1
    return sent


def latest_ended(period_type: str, today: date) -> periods.PeriodSpec:
    """The most recent period of a type that ended before today."""
    if period_type == periods.FINANCIAL_YEAR:
        return periods.financial_year(periods.financial_year_of(today) - 1)
    if period_type == periods.QUARTER:
        current = periods.quarter_of(today)
        return periods.quarter_of(current.start - timedelta(days=1))
    if period_type == periods.MONTH:
        last = today.replace(day=1) - timedelta(days=1)
        return periods.month(last.year, last.month)
    if period_type == periods.CALENDAR_YEAR:
        return periods.calendar_year(today.year - 1)
    raise ValueError(f"Returns are not collected by {period_type} periods.")


def expectations_generate_recent(*, today: date | None = None) -> int:
    """Expect each locally supplied KPI for the latest period of its type that has ended."""
    today = today or timezone.localdate()
    types = set(Kpi.objects.filter(locally_supplied=True).values_list("period_type", flat=True))
    return sum(
        expectations_generate(period_label=latest_ended(kind, today).label) for kind in types
    )
