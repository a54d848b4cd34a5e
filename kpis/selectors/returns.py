"""Reads for returns: what a user may upload and see, the context a return is validated
against, open expectations, staged rows given twice, a return's title, and its staged values
beside the current approved ones for review."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from strategy.access import Action, places_for, user_can_everywhere, user_can_for_all
from strategy.models import Place, User

from ..models import (
    Assessment,
    Breakdown,
    Kpi,
    Observation,
    ReportingExpectation,
    ReturnRow,
    ReturnUpload,
    Statistic,
)
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


def upload_list_for(*, user: User, limit: int = 200) -> list[ReturnUpload]:
    """The latest returns a user may see, each with who uploaded it and its ``title``."""
    uploads = uploads_titled(
        uploads_visible_to(user=user).select_related("uploaded_by").order_by("-uploaded_at")[:limit]
    )
    for upload in uploads:
        upload.title = upload_title(upload)
    return uploads


def upload_visible_to(*, user: User, upload: ReturnUpload) -> bool:
    """The uploader, and whoever may see the returns of a place the return holds."""
    if upload.uploaded_by_id == user.pk:
        return True
    return uploads_visible_to(user=user).filter(pk=upload.pk).exists()


def upload_file_visible_to(*, user: User, upload: ReturnUpload) -> bool:
    """Whether the user may have the uploaded file itself: its uploader, and whoever may see
    the returns of every place it holds (the file holds every place's figures, so the lead of
    one place in a return of several may see the return but not have the file)."""
    if upload.uploaded_by_id == user.pk or user_can_everywhere(user, Action.SEE_RETURNS):
        return True
    if not upload_visible_to(user=user, upload=upload):
        return False
    return user_can_for_all(user, Action.SEE_RETURNS, upload.places.values_list("id", flat=True))


def upload_issues_visible_to(*, user: User, upload: ReturnUpload) -> tuple[list[dict], int]:
    """The return's issues this user may read, and how many are held back.

    Whoever may have the whole file reads every issue. The lead of one place in a return of
    several reads the issues of the file as a whole and of their own places' rows only: an
    issue quotes its row's figures, which are another place's unpublished values.
    """
    issues = list(upload.issues)
    if upload_file_visible_to(user=user, upload=upload):
        return issues, 0
    own_rows = set(
        ReturnRow.objects.filter(
            upload=upload, series__place__in=places_for(user, Action.SEE_RETURNS)
        ).values_list("row", flat=True)
    )
    shown = [i for i in issues if i.get("row") is None or i["row"] in own_rows]
    return shown, len(issues) - len(shown)


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
        read_seconds=settings.RETURN_READ_SECONDS,
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


# A return's title ----------------------------------------------------------------------------

KIND_NOUNS = {
    ReturnUpload.Kind.QUARTERLY: "quarterly return",
    ReturnUpload.Kind.HISTORY: "history load",
}


def uploads_titled(uploads: Iterable[ReturnUpload]) -> list[ReturnUpload]:
    """The returns with what their titles name, in two queries whatever their number:
    ``title_places`` (the places of the staged rows, which staging records on the upload and
    withdrawal keeps) and ``title_periods`` (the staged rows' periods, earliest first)."""
    uploads = list(uploads)
    ids = [upload.pk for upload in uploads]
    places: dict[int, list[str]] = defaultdict(list)
    for upload_id, name in (
        ReturnUpload.places.through.objects.filter(returnupload_id__in=ids)
        .order_by("returnupload_id", "place__position", "place__name")
        .values_list("returnupload_id", "place__name")
    ):
        places[upload_id].append(name)
    periods: dict[int, list[str]] = defaultdict(list)
    for upload_id, label in (
        ReturnRow.objects.filter(upload_id__in=ids)
        .values_list("upload_id", "period__label", "period__end", "period__start")
        .distinct()
        .order_by("upload_id", "period__end", "period__start")
        .values_list("upload_id", "period__label")
    ):
        periods[upload_id].append(label)
    for upload in uploads:
        upload.title_places = places[upload.pk]
        upload.title_periods = periods[upload.pk]
    return uploads


def upload_title(upload: ReturnUpload) -> str:
    """The title of a return fetched through ``uploads_titled``."""
    return return_title(
        kind=upload.kind,
        places=upload.title_places,
        periods=upload.title_periods,
        uploaded_at=upload.uploaded_at,
    )


def return_title(
    *, kind: str, places: Sequence[str], periods: Sequence[str], uploaded_at: datetime
) -> str:
    """A return named by its places and periods, never its file: "Thurrock: 2024-25 Q1
    quarterly return"; "quarterly" only for a quarterly return. Without staged periods (a
    file that failed, or was withdrawn) the upload's date stands in for them."""
    noun = KIND_NOUNS.get(kind, ReturnUpload.Kind(kind).label.lower())
    if periods:
        noun = f"{_periods_named(periods)} {noun}"
    else:
        noun = f"{noun} uploaded {_day(uploaded_at)}"
    if places:
        return f"{_places_named(places)}: {noun}"
    return noun[0].upper() + noun[1:]


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _places_named(places: Sequence[str]) -> str:
    """Up to three places by name; more as the first two and how many others."""
    if len(places) <= 3:
        return _listed(places)
    return f"{places[0]}, {places[1]} and {len(places) - 2} other places"


def _periods_named(periods: Sequence[str]) -> str:
    """Up to three periods by label; more as the span from the first to the last."""
    if len(periods) <= 3:
        return _listed(periods)
    return f"{periods[0]} to {periods[-1]}"


def _day(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.day} {local:%B %Y}"


# Review: staged values beside the current approved ones ---------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    """One staged row of a return beside the current approved value of the same KPI, place,
    breakdown and period, with the change, any SPC special cause and the row's warnings."""

    row: int
    kpi_code: str
    kpi_title: str
    place: str
    period: str
    breakdown: str
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    suppressed: bool
    marker: str
    comment: str
    # The current version, if it is approved; None: no approved value yet.
    current_version: int | None
    current_numerator: Decimal | None
    current_denominator: Decimal | None
    current_value: Decimal | None
    current_suppressed: bool
    # New minus current: in percentage points for percentages, else in the KPI's own unit.
    change: Decimal | None
    change_unit: str
    # The series' latest internal assessment of this kind of period: its process limits.
    spc_mean: float | None
    spc_lower_limit: float | None
    spc_upper_limit: float | None
    spc_outlier: str  # "above", "below" or "" (within the limits, or no limits)
    warnings: tuple[str, ...]

    @property
    def change_text(self) -> str:
        """The change signed, with its unit: "+10.0 percentage points", "-3", "No change"."""
        if self.change is None:
            return ""
        if self.change == 0:
            return "No change"
        if self.change_unit == "percentage points":
            return f"{self.change:+,.1f} percentage points"
        number = (
            f"{self.change:+,.0f}"
            if self.change == self.change.to_integral_value()
            else f"{self.change:+,.2f}"
        )
        return f"{number} {self.change_unit}".rstrip()


@dataclass(frozen=True)
class ReviewPage:
    """A page of a return's staged rows, as the reviewer and the uploader see them."""

    rows: list[ReviewRow]
    number: int
    per_page: int
    count: int  # staged rows of the places this user may see
    hidden: int  # staged rows of other places, not shown
    warnings_confirmed: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.count else 0

    @property
    def last_row(self) -> int:
        return min(self.number * self.per_page, self.count)


def upload_values_page(
    *, upload: ReturnUpload, user: User, page: int = 1, per_page: int = 50
) -> ReviewPage:
    """One page of a return's staged values beside the current approved ones, in three
    queries whatever the page size: a count, the page's rows, then everything they show (so
    the values of a deep page's predecessors are never looked up).

    1. Rows of places whose unpublished values the user may not see are left out (and
       counted): a return of several places may be visible to the lead of one of them.
    2. The current approved value is the current version of the same series and period when
       it is approved (one at most: the database keeps one current version).
    3. The SPC limits are those of the series' latest internal assessment of the same type of
       period (a quarter is never judged by annual limits); a staged value outside them would
       be a special-cause point.
    4. The row's warnings come from the upload's stored issues, already in memory.
    """
    staged = ReturnRow.objects.filter(upload=upload)
    if user_can_everywhere(user, Action.SEE_UNPUBLISHED):
        shown = Q()
    else:
        shown = Q(series__place__in=places_for(user, Action.SEE_UNPUBLISHED))
    counts = staged.aggregate(total=Count("id"), shown=Count("id", filter=shown))
    count = counts["shown"]
    pages = max(1, -(-count // per_page))
    number = min(max(1, page), pages)
    offset = (number - 1) * per_page
    # The page's rows are picked first, so a deep page looks up values for its own rows only;
    # their id range narrows the block-range index to the blocks that hold them.
    chosen = list(
        staged.filter(shown)
        .order_by("row", "id")
        .values_list("id", flat=True)[offset : offset + per_page]
    )
    records = (
        list(
            _review_rows(
                staged.filter(id__in=chosen, id__range=(min(chosen), max(chosen)))
            ).order_by("row", "id")
        )
        if chosen
        else []
    )
    warnings = _row_warnings(upload.issues, {record["row"] for record in records})
    return ReviewPage(
        rows=[_review_row(record, warnings.get(record["row"], ())) for record in records],
        number=number,
        per_page=per_page,
        count=count,
        hidden=counts["total"] - count,
        warnings_confirmed=upload.warnings_confirmed,
    )


def _review_rows(staged: QuerySet[ReturnRow]) -> QuerySet:
    current = Observation.objects.filter(
        series_id=OuterRef("series_id"),
        period_id=OuterRef("period_id"),
        is_current=True,
        approved=True,
    )
    limits = Assessment.objects.filter(
        series_id=OuterRef("series_id"),
        scope=Assessment.Scope.INTERNAL,
        period__type=OuterRef("period__type"),
    ).order_by("-period__end", "-period__start")

    def of_current(field):
        return Subquery(current.values(field)[:1])

    def of_limits(field):
        return Subquery(limits.values(field)[:1])

    return staged.values(
        "row",
        "numerator",
        "denominator",
        "value",
        "suppressed",
        "marker",
        "comment",
        kpi_code=F("series__kpi__code"),
        kpi_title=F("series__kpi__title"),
        statistic=F("series__kpi__statistic"),
        unit=F("series__kpi__unit"),
        multiplier=F("series__kpi__multiplier"),
        place_name=F("series__place__name"),
        breakdown=F("series__breakdown__label"),
        period_label=F("period__label"),
        current_version=of_current("version"),
        current_numerator=of_current("numerator"),
        current_denominator=of_current("denominator"),
        current_value=of_current("value"),
        current_suppressed=of_current("suppressed"),
        spc_mean=of_limits("spc_mean"),
        spc_lower_limit=of_limits("spc_lower_limit"),
        spc_upper_limit=of_limits("spc_upper_limit"),
    )


def _row_warnings(issues: list[dict], rows: set[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for issue in issues:
        if issue.get("severity") == "warning" and issue.get("row") in rows:
            found.setdefault(issue["row"], []).append(issue["message"])
    return {row: tuple(messages) for row, messages in found.items()}


# Percentages: a change is in percentage points. A proportion's value is its fraction times
# the multiplier, so a point is 100 / multiplier of the value's units.
_FRACTIONS = frozenset({Statistic.PROPORTION, Statistic.SURVEY_ESTIMATE})


def _change_scale(*, statistic: str, unit: str, multiplier: Decimal) -> tuple[Decimal, str]:
    if statistic in _FRACTIONS and multiplier:
        return Decimal(100) / multiplier, "percentage points"
    if unit.strip() in ("%", "percentage points"):
        return Decimal(1), "percentage points"
    return Decimal(1), "" if unit.strip() == "count" else unit.strip()


def _spc_outlier(value: Decimal | None, lower: float | None, upper: float | None) -> str:
    if value is None:
        return ""
    if lower is not None and float(value) < lower:
        return "below"
    if upper is not None and float(value) > upper:
        return "above"
    return ""


def _review_row(record: dict, warnings: tuple[str, ...]) -> ReviewRow:
    scale, unit = _change_scale(
        statistic=record["statistic"], unit=record["unit"], multiplier=record["multiplier"]
    )
    value, current = record["value"], record["current_value"]
    suppressed = record["suppressed"]
    change = None
    if value is not None and current is not None and not suppressed:
        change = (value - current) * scale
    return ReviewRow(
        row=record["row"],
        kpi_code=record["kpi_code"],
        kpi_title=record["kpi_title"],
        place=record["place_name"],
        period=record["period_label"],
        breakdown=record["breakdown"],
        numerator=record["numerator"],
        denominator=record["denominator"],
        value=value,
        suppressed=suppressed,
        marker=record["marker"],
        comment=record["comment"],
        current_version=record["current_version"],
        current_numerator=record["current_numerator"],
        current_denominator=record["current_denominator"],
        current_value=current,
        current_suppressed=bool(record["current_suppressed"]),
        change=change,
        change_unit=unit,
        spc_mean=record["spc_mean"],
        spc_lower_limit=record["spc_lower_limit"],
        spc_upper_limit=record["spc_upper_limit"],
        spc_outlier=""
        if suppressed
        else _spc_outlier(value, record["spc_lower_limit"], record["spc_upper_limit"]),
        warnings=warnings,
    )
