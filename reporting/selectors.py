"""Reads for the reporting pages, composed from the strategy and KPI apps."""

from django.db.models import Prefetch

from kpis.models import Kpi, Target
from strategy.models import Priority, Strategy
from strategy.selectors import CURRENT_STRATEGY, strategy_get


def strategy_on_a_page(*, code: str = CURRENT_STRATEGY) -> Strategy:
    """The strategy with each priority's KPIs and deliverables, in a fixed number of queries."""
    return strategy_get(
        code=code,
        priority_prefetches=[Prefetch("kpis", queryset=Kpi.objects.only("id", "code", "title"))],
    )


def kpi_definition_get(*, code: str) -> Kpi:
    """One KPI with everything its public definition page shows."""
    return (
        Kpi.objects.select_related("owner", "disclosure_rule")
        .prefetch_related(
            Prefetch("priorities", queryset=Priority.objects.select_related("theme")),
            "outcomes",
            "what_matters",
            "definition_versions",
            Prefetch("targets", queryset=Target.objects.select_related("source_document", "place")),
        )
        .get(code=code)
    )


def upload_list_for(*, user):
    """Returns a user may see: reviewers all; place leads theirs and their places'."""
    from django.db.models import Q

    from kpis.models import ReturnUpload
    from kpis.uploads import REVIEWERS
    from strategy.access import user_roles

    uploads = ReturnUpload.objects.select_related("uploaded_by").order_by("-uploaded_at")
    if user_roles(user) & REVIEWERS:
        return uploads[:200]
    granted = user.place_grants.values("place_id")
    return uploads.filter(Q(uploaded_by=user) | Q(places__in=granted)).distinct()[:200]


def upload_visible_to(*, user, upload) -> bool:
    from kpis.uploads import REVIEWERS
    from strategy.access import user_roles

    if user_roles(user) & REVIEWERS or upload.uploaded_by_id == user.pk:
        return True
    granted = set(user.place_grants.values_list("place_id", flat=True))
    return bool(granted & set(upload.places.values_list("id", flat=True)))


def open_expectations_for(*, user, period_label: str | None = None, today=None):
    """Expectations open now for the places this user reports for, with KPI, place, period."""
    from django.db.models import Q
    from django.utils import timezone

    from kpis.models import ReportingExpectation
    from kpis.uploads import reportable_place_codes

    today = today or timezone.localdate()
    expectations = (
        ReportingExpectation.objects.filter(place__code__in=reportable_place_codes(user))
        .filter(Q(locks_on__gte=today) | Q(reopened_until__gte=today))
        .select_related("kpi", "place", "period")
        .order_by("period__end", "place__code", "kpi__code")
    )
    if period_label:
        expectations = expectations.filter(period__label=period_label)
    return list(expectations)


def audit_events(*, limit: int = 200):
    from kpis.models import AuditEvent

    return AuditEvent.objects.select_related("actor", "upload", "release").order_by("-at")[:limit]


def release_calendar():
    from kpis.models import Release

    return Release.objects.order_by("-scheduled_for")
