"""Reads for the reporting calendar: expectations with the state their return has reached
(released, approved, submitted, uploaded, late, expected), completeness counts and who is
reminded for each place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from strategy.access import Action, place_role_names
from strategy.models import PlaceGrant

from ..models import Observation, ReportingExpectation, ReturnRow, ReturnUpload

#: Where an expected return has got to, furthest first; "late" and "expected" when nothing
#: usable has arrived (due date passed, or not yet).
STATES = ("released", "approved", "submitted", "uploaded", "late", "expected")
#: States in which the place has sent its figures: nobody is reminded about these.
RECEIVED = frozenset({"released", "approved", "submitted"})
STAGED_STATES = (ReturnUpload.State.VALIDATED, ReturnUpload.State.SENT_BACK)
LIVE_STATES = (
    *STAGED_STATES,
    ReturnUpload.State.SUBMITTED,
    ReturnUpload.State.APPROVING,
    ReturnUpload.State.APPROVED,
)


def expectations_with_status(*, today: date | None = None, period_label: str | None = None):
    """Expectations with the furthest state their return has reached (``status``, one of
    STATES), whether the figures have been received, and the latest return holding them
    (``upload_id``), in one query."""
    today = today or timezone.localdate()

    def staged(states):
        return ReturnRow.objects.filter(
            upload__state__in=states,
            series__kpi_id=OuterRef("kpi_id"),
            series__place_id=OuterRef("place_id"),
            period_id=OuterRef("period_id"),
        )

    ingested = Observation.objects.filter(
        is_current=True,
        series__kpi_id=OuterRef("kpi_id"),
        series__place_id=OuterRef("place_id"),
        period_id=OuterRef("period_id"),
        source_upload__isnull=False,
    )
    latest = staged(LIVE_STATES).order_by("-upload__uploaded_at").values("upload_id")[:1]
    queryset = ReportingExpectation.objects.select_related("kpi", "place", "period").annotate(
        is_released=Exists(ingested.filter(published_at__isnull=False)),
        is_approved=Exists(ingested),
        is_submitted=Exists(staged([ReturnUpload.State.SUBMITTED])),
        is_uploaded=Exists(staged(STAGED_STATES)),
        upload_id=Subquery(latest),
    )
    if period_label:
        queryset = queryset.filter(period__label=period_label)
    for expectation in queryset:
        if expectation.is_released:
            expectation.status = "released"
        elif expectation.is_approved:
            expectation.status = "approved"
        elif expectation.is_submitted:
            expectation.status = "submitted"
        elif expectation.is_uploaded:
            expectation.status = "uploaded"
        elif today > expectation.due_on:
            expectation.status = "late"
        else:
            expectation.status = "expected"
        expectation.received = expectation.status in RECEIVED
        yield expectation


def completeness(*, period_label: str, today: date | None = None) -> dict[str, int]:
    """How many expectations of a period are in each state."""
    return completeness_counts(expectations_with_status(today=today, period_label=period_label))


def completeness_counts(expectations: Iterable[ReportingExpectation]) -> dict[str, int]:
    """How many of these expectations (with their status) are in each state, in STATES order."""
    counts = dict.fromkeys(STATES, 0)
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
