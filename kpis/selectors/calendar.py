"""Reads for the reporting calendar: expectations with their status (met, late, outstanding),
completeness counts and who is reminded for each place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, OuterRef
from django.utils import timezone

from strategy.access import Action, place_role_names
from strategy.models import PlaceGrant

from ..models import Observation, ReportingExpectation, ReturnRow, ReturnUpload

MET_STATES = (ReturnUpload.State.SUBMITTED, ReturnUpload.State.APPROVED)


def expectations_with_status(*, today: date | None = None, period_label: str | None = None):
    """Expectations annotated met / late / outstanding, in one query."""
    today = today or timezone.localdate()
    submitted = ReturnRow.objects.filter(
        upload__state__in=MET_STATES,
        series__kpi_id=OuterRef("kpi_id"),
        series__place_id=OuterRef("place_id"),
        period_id=OuterRef("period_id"),
    )
    ingested = Observation.objects.filter(
        series__kpi_id=OuterRef("kpi_id"),
        series__place_id=OuterRef("place_id"),
        period_id=OuterRef("period_id"),
        source_upload__isnull=False,
    )
    queryset = ReportingExpectation.objects.select_related("kpi", "place", "period").annotate(
        met=Exists(submitted) | Exists(ingested)
    )
    if period_label:
        queryset = queryset.filter(period__label=period_label)
    for expectation in queryset:
        if expectation.met:
            expectation.status = "met"
        elif today > expectation.due_on:
            expectation.status = "late"
        else:
            expectation.status = "outstanding"
        yield expectation


def completeness(*, period_label: str, today: date | None = None) -> dict[str, int]:
    """How many expectations of a period are met, late or outstanding."""
    return completeness_counts(expectations_with_status(today=today, period_label=period_label))


def completeness_counts(expectations: Iterable[ReportingExpectation]) -> dict[str, int]:
    """How many of these expectations (with their status) are met, late or outstanding."""
    counts = {"met": 0, "late": 0, "outstanding": 0}
    for expectation in expectations:
        counts[expectation.status] += 1
    return counts


def reminder_recipients() -> dict[int, set[str]]:
    """For each place: its granted place leads' e-mails and their organisations' contacts."""
    recipients: dict[int, set[str]] = defaultdict(set)
    grants = PlaceGrant.objects.filter(
        user__is_active=True, user__groups__name__in=place_role_names(Action.UPLOAD_RETURN)
    ).values_list("place_id", "user__email", "user__organisation__contact_email")
    for place_id, email, contact in grants:
        recipients[place_id] |= {address for address in (email, contact) if address}
    return recipients
