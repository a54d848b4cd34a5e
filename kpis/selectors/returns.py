"""Reads for quarterly returns: what a user may upload and see, the context a return is
validated against, open expectations, and staged rows given twice."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from strategy.access import Action, places_for, user_can_everywhere
from strategy.models import Place, User

from ..models import Breakdown, Kpi, ReportingExpectation, ReturnRow, ReturnUpload
from ..returns.spec import Issue, KpiSpec, PlaceSpec, ReturnContext
from ..returns.validate import DUPLICATE_COLUMNS
from .assessments import latest_values


def reportable_place_codes(*, user: User) -> set[str]:
    """The places a user may upload a return for (explicit grants only for place leads)."""
    return set(places_for(user, Action.UPLOAD_RETURN).values_list("code", flat=True))


def uploads_visible_to(*, user: User) -> QuerySet[ReturnUpload]:
    """Returns a user may see: every return for those who see every place's; otherwise their
    own and their granted places'."""
    if user_can_everywhere(user, Action.SEE_RETURNS):
        return ReturnUpload.objects.all()
    granted = places_for(user, Action.SEE_RETURNS).values("id")
    return ReturnUpload.objects.filter(Q(uploaded_by=user) | Q(places__in=granted)).distinct()


def upload_list_for(*, user: User, limit: int = 200) -> QuerySet[ReturnUpload]:
    """The latest returns a user may see, with who uploaded each."""
    return (
        uploads_visible_to(user=user).select_related("uploaded_by").order_by("-uploaded_at")[:limit]
    )


def upload_visible_to(*, user: User, upload: ReturnUpload) -> bool:
    """The uploader, and whoever may see the returns of a place the return holds."""
    if upload.uploaded_by_id == user.pk:
        return True
    return uploads_visible_to(user=user).filter(pk=upload.pk).exists()


def open_expectations_for(
    *, user: User, period_label: str | None = None, today: date | None = None
) -> list[ReportingExpectation]:
    """Expectations open now for the places this user reports for, with KPI, place, period."""
    today = today or timezone.localdate()
    expectations = (
        ReportingExpectation.objects.filter(place__in=places_for(user, Action.UPLOAD_RETURN))
        .filter(Q(locks_on__gte=today) | Q(reopened_until__gte=today))
        .select_related("kpi", "place", "period")
        .order_by("period__end", "place__code", "kpi__code")
    )
    if period_label:
        expectations = expectations.filter(period__label=period_label)
    return list(expectations)


def return_context(*, user: User, kind: str, today: date | None = None) -> ReturnContext:
    """What a return from this user may contain: KPIs, places, open periods, limits."""
    today = today or timezone.localdate()
    kpis = {kpi.code: KpiSpec.from_model(kpi) for kpi in Kpi.objects.all()}
    places = {code: PlaceSpec(code=code) for code in Place.objects.values_list("code", flat=True)}
    reportable = frozenset(reportable_place_codes(user=user))
    categories: dict[str, set[str]] = {}
    for dimension, category in Breakdown.objects.values_list("dimension", "category"):
        categories.setdefault(dimension, set()).add(category)
    expectations = ReportingExpectation.objects.filter(place__code__in=reportable)
    status: dict[str, str] = {}
    expected = set()
    for label, kpi, place, locks_on, reopened in expectations.values_list(
        "period__label", "kpi__code", "place__code", "locks_on", "reopened_until"
    ):
        is_open = today <= locks_on or (reopened is not None and today <= reopened)
        # A label is open if it is open for any place this user reports for.
        if is_open or status.get(label) != "open":
            status[label] = "open" if is_open else "locked"
        if is_open:
            expected.add((kpi, place, label))
    return ReturnContext(
        previous=latest_values(place_codes=reportable),
        kpis=kpis,
        places=places,
        reportable_places=reportable,
        period_status=status,
        required_template_version=(
            settings.RETURN_TEMPLATE_VERSION if kind == ReturnUpload.Kind.QUARTERLY else None
        ),
        max_rows=settings.RETURN_MAX_ROWS,
        max_bytes=settings.RETURN_MAX_BYTES,
        expected=frozenset(expected) if kind == ReturnUpload.Kind.QUARTERLY else frozenset(),
        breakdown_categories={k: frozenset(v) for k, v in categories.items()},
        locally_supplied_only=kind == ReturnUpload.Kind.QUARTERLY,
    )


def staged_duplicate_issues(*, upload: ReturnUpload) -> list[Issue]:
    """Rows staged twice for one KPI, place, period and breakdown (set-based)."""
    repeated = (
        ReturnRow.objects.filter(upload=upload)
        .values("series_id", "period_id")
        .annotate(n=Count("id"), first=Min("row"))
        .filter(n__gt=1)
    )
    firsts = {(r["series_id"], r["period_id"]): r["first"] for r in repeated}
    if not firsts:
        return []
    issues = []
    for series_id, period_id, row in (
        ReturnRow.objects.filter(upload=upload, series_id__in={s for s, _ in firsts})
        .values_list("series_id", "period_id", "row")
        .order_by("row")
    ):
        first = firsts.get((series_id, period_id))
        if first is not None and row != first:
            issues.append(
                Issue(
                    row=row,
                    column=DUPLICATE_COLUMNS,
                    value="",
                    message=f"This row repeats row {first}; expected each KPI, place, period "
                    "and breakdown once.",
                    code="duplicate_row",
                )
            )
    return issues
