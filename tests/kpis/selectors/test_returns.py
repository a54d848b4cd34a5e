"""Reads of a return for review: its staged values beside the current approved ones, a page
at a time in constant queries, and its title."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kpis.models import ReturnRow, ReturnUpload, Series, Statistic
from kpis.selectors.returns import return_title, upload_title, upload_values_page, uploads_titled
from strategy.access import Role
from tests.kpis.factories import (
    AssessmentFactory,
    KpiFactory,
    ObservationFactory,
    PeriodFactory,
    ReleaseFactory,
    ReturnRowFactory,
    ReturnUploadFactory,
    SeriesFactory,
)
from tests.strategy.factories import PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return UserFactory(roles=[Role.SIG_MEMBER])


@pytest.fixture
def upload():
    return ReturnUploadFactory(state=ReturnUpload.State.SUBMITTED)


def stage(upload, series, label, numerator, denominator, value, *, row=3, **extra):
    return ReturnRowFactory(
        upload=upload,
        series=series,
        period=PeriodFactory(label=label),
        row=row,
        numerator=None if numerator is None else Decimal(numerator),
        denominator=None if denominator is None else Decimal(denominator),
        value=None if value is None else Decimal(value),
        **extra,
    )


def approved(series, label, numerator, denominator, value, **extra):
    return ObservationFactory(
        series=series,
        period=PeriodFactory(label=label),
        numerator=Decimal(numerator),
        denominator=Decimal(denominator),
        value=Decimal(value),
        approved=True,
        **extra,
    )


def only_row(upload, user):
    (row,) = upload_values_page(upload=upload, user=user, page=1).rows
    return row


# The values beside the current approved ones ------------------------------------------------


def test_a_proportion_changes_in_percentage_points(upload, reviewer):
    # 45 of 50 is 90%; the current approved 40 of 50 is 80%: up 10 percentage points.
    series = SeriesFactory()
    approved(series, "2024-25 Q1", 40, 50, 80)
    stage(upload, series, "2024-25 Q1", 45, 50, 90)
    row = only_row(upload, reviewer)
    assert (row.numerator, row.denominator, row.value) == (Decimal(45), Decimal(50), Decimal(90))
    assert (row.current_numerator, row.current_denominator, row.current_value) == (
        Decimal(40),
        Decimal(50),
        Decimal(80),
    )
    assert row.change == Decimal(10)
    assert row.change_text == "+10.0 percentage points"
    assert (row.kpi_code, row.place, row.period, row.breakdown) == (
        series.kpi.code,
        series.place.name,
        "2024-25 Q1",
        "All people",
    )


def test_a_proportion_kept_as_a_fraction_changes_in_percentage_points_too(upload, reviewer):
    # Multiplier 1: 0.72 against 0.75 is 3 percentage points down.
    series = SeriesFactory(kpi=KpiFactory(multiplier=Decimal(1), unit="proportion"))
    approved(series, "2024-25 Q1", 75, 100, "0.75")
    stage(upload, series, "2024-25 Q1", 72, 100, "0.72")
    row = only_row(upload, reviewer)
    assert row.change == Decimal(-3)
    assert row.change_text == "-3.0 percentage points"


def test_a_rate_changes_in_its_own_unit_and_a_count_in_plain_numbers(upload, reviewer):
    rate = SeriesFactory(
        kpi=KpiFactory(statistic=Statistic.CRUDE_RATE, multiplier=100_000, unit="per 100,000")
    )
    count = SeriesFactory(kpi=KpiFactory(statistic=Statistic.COUNT, multiplier=1, unit="count"))
    approved(rate, "2024-25 Q1", 24, 10_000, 240)
    approved(count, "2024-25 Q1", 15, 1, 15)
    stage(upload, rate, "2024-25 Q1", 25, 9980, "250.501002", row=3)  # 25 / 9,980 x 100,000
    stage(upload, count, "2024-25 Q1", 12, None, 12, row=4)
    rate_row, count_row = upload_values_page(upload=upload, user=reviewer).rows
    assert rate_row.change == Decimal("10.501002")
    assert rate_row.change_text == "+10.50 per 100,000"
    assert count_row.change == Decimal(-3)
    assert count_row.change_text == "-3"


def test_only_the_current_approved_version_is_compared(upload, reviewer):
    approved_then_revised = SeriesFactory()
    # Version 1 (approved) was replaced by version 2 (approved): 2 is the current value.
    approved(approved_then_revised, "2024-25 Q1", 30, 50, 60, version=1, is_current=False)
    approved(approved_then_revised, "2024-25 Q1", 35, 50, 70, version=2)
    unapproved = SeriesFactory()
    ObservationFactory(series=unapproved, period=PeriodFactory(label="2024-25 Q1"))
    stage(upload, approved_then_revised, "2024-25 Q1", 45, 50, 90, row=3)
    stage(upload, unapproved, "2024-25 Q1", 45, 50, 90, row=4)
    revised, new = upload_values_page(upload=upload, user=reviewer).rows
    assert (revised.current_version, revised.current_value, revised.change) == (
        2,
        Decimal(70),
        Decimal(20),
    )
    assert (new.current_version, new.current_value, new.change, new.change_text) == (
        None,
        None,
        None,
        "",
    )


def test_an_unchanged_value_says_so_and_a_suppressed_one_has_no_change(upload, reviewer):
    same, withheld = SeriesFactory(), SeriesFactory()
    approved(same, "2024-25 Q1", 40, 50, 80)
    approved(withheld, "2024-25 Q1", 40, 50, 80)
    stage(upload, same, "2024-25 Q1", 40, 50, 80, row=3)
    stage(upload, withheld, "2024-25 Q1", None, None, None, row=4, suppressed=True, marker="*")
    unchanged, suppressed = upload_values_page(upload=upload, user=reviewer).rows
    assert unchanged.change_text == "No change"
    assert (suppressed.suppressed, suppressed.marker, suppressed.change) == (True, "*", None)


# SPC: outside the limits of the latest assessment ------------------------------------------


def test_a_value_outside_the_latest_process_limits_is_a_special_cause(upload, reviewer):
    high, low, inside, no_limits = (SeriesFactory() for _ in range(4))
    for series in (high, low, inside):
        # The latest quarter's limits, 70 to 85 around 77.5, are the ones that count: not an
        # earlier quarter's, nor those of an annual value ending the same day.
        AssessmentFactory(
            series=series,
            period=PeriodFactory(label="2023-24 Q3"),
            spc_mean=50.0,
            spc_lower_limit=0.0,
            spc_upper_limit=100.0,
        )
        AssessmentFactory(
            series=series,
            period=PeriodFactory(label="2023-24 Q4"),
            spc_mean=77.5,
            spc_lower_limit=70.0,
            spc_upper_limit=85.0,
        )
        AssessmentFactory(
            series=series,
            period=PeriodFactory(label="2023-24"),
            spc_mean=77.5,
            spc_lower_limit=89.0,
            spc_upper_limit=91.0,
        )
    stage(upload, high, "2024-25 Q1", 45, 50, 90, row=3)  # 90 > 85
    stage(upload, low, "2024-25 Q1", 30, 50, 60, row=4)  # 60 < 70
    stage(upload, inside, "2024-25 Q1", 40, 50, 80, row=5)  # 70 <= 80 <= 85
    stage(upload, no_limits, "2024-25 Q1", 45, 50, 90, row=6)
    rows = upload_values_page(upload=upload, user=reviewer).rows
    assert [(r.spc_outlier, r.spc_mean, r.spc_lower_limit, r.spc_upper_limit) for r in rows] == [
        ("above", 77.5, 70.0, 85.0),
        ("below", 77.5, 70.0, 85.0),
        ("", 77.5, 70.0, 85.0),
        ("", None, None, None),
    ]


def test_published_assessments_do_not_set_the_limits(upload, reviewer):
    series = SeriesFactory()
    AssessmentFactory(
        series=series,
        period=PeriodFactory(label="2023-24 Q4"),
        scope="published",
        release=ReleaseFactory(),
        spc_lower_limit=95.0,
        spc_upper_limit=99.0,
    )
    stage(upload, series, "2024-25 Q1", 45, 50, 90)
    row = only_row(upload, reviewer)
    assert (row.spc_outlier, row.spc_upper_limit) == ("", None)


# Warnings and the uploader's confirmation --------------------------------------------------


def test_each_row_carries_its_own_warnings(upload, reviewer):
    series = SeriesFactory()
    upload.issues = [
        {
            "row": 3,
            "column": "numerator",
            "value": "3",
            "message": "A small count: 3.",
            "code": "small_count",
            "severity": "warning",
        },
        {
            "row": 3,
            "column": "value",
            "value": "x",
            "message": "Not a number.",
            "code": "not_a_number",
            "severity": "error",
        },
        {
            "row": 4,
            "column": "value",
            "value": "99",
            "message": "Far from before.",
            "code": "far_from_previous",
            "severity": "warning",
        },
        {
            "row": None,
            "column": None,
            "value": "",
            "message": "No total for Thurrock.",
            "code": "expected_missing",
            "severity": "warning",
        },
    ]
    upload.warnings_confirmed = True
    upload.save()
    stage(upload, series, "2024-25 Q1", 3, 50, 6, row=3)
    stage(upload, series, "2024-25 Q2", 40, 50, 80, row=5)
    page = upload_values_page(upload=upload, user=reviewer)
    assert [row.warnings for row in page.rows] == [("A small count: 3.",), ()]
    assert page.warnings_confirmed is True


# Who sees which rows -----------------------------------------------------------------------


def test_a_lead_sees_only_the_rows_of_their_places(upload):
    mine, theirs = PlaceFactory(name="Southend-on-Sea"), PlaceFactory(name="Thurrock")
    lead = UserFactory(roles=[Role.PLACE_LEAD], places=[mine])
    stage(upload, SeriesFactory(place=mine), "2024-25 Q1", 45, 50, 90, row=3)
    stage(upload, SeriesFactory(place=theirs), "2024-25 Q1", 40, 50, 80, row=4)
    stage(upload, SeriesFactory(place=theirs), "2024-25 Q1", 40, 50, 80, row=5)
    page = upload_values_page(upload=upload, user=lead)
    assert [(row.row, row.place) for row in page.rows] == [(3, "Southend-on-Sea")]
    assert (page.count, page.hidden) == (1, 2)


# Pages in constant queries -----------------------------------------------------------------


def staged_rows(upload, count: int) -> None:
    """``count`` rows over ten series and twenty quarters, each with a current approved value
    and an assessment, in one insert."""
    series = [SeriesFactory() for _ in range(10)]
    quarters = [
        PeriodFactory(label=f"{2000 + i // 4}-{(1 + i // 4) % 100:02d} Q{i % 4 + 1}")
        for i in range(20)
    ]
    for s in series:
        approved(s, quarters[0].label, 40, 50, 80)
        AssessmentFactory(series=s, period=quarters[0])
    ReturnRow.objects.bulk_create(
        ReturnRow(
            upload=upload,
            row=3 + i,
            series=series[i % 10],
            period=quarters[i // 10 % 20],
            numerator=Decimal(45),
            denominator=Decimal(50),
            value=Decimal(90),
        )
        for i in range(count)
    )


@pytest.mark.parametrize("rows", [10, 200])
@pytest.mark.parametrize("role", [Role.SIG_MEMBER, Role.PLACE_LEAD])
def test_a_page_takes_the_same_queries_for_10_rows_or_200(
    upload, rows, role, django_assert_num_queries
):
    staged_rows(upload, rows)
    # The lead is granted the places of half the series, so sees half the rows.
    places = [s.place for s in Series.objects.filter(returnrow__upload=upload).distinct()]
    user = UserFactory(roles=[role], places=sorted(places, key=lambda p: p.pk)[:5])
    # The user's roles, the counts, the page's rows, then their values with their joins and
    # subqueries.
    with django_assert_num_queries(4):
        page = upload_values_page(upload=upload, user=user, page=1, per_page=500)
    shown = rows if role == Role.SIG_MEMBER else rows // 2
    assert len(page.rows) == page.count == shown
    assert page.hidden == rows - shown


def test_pages_run_through_the_rows_in_order_and_stay_in_range(upload, reviewer):
    staged_rows(upload, 120)
    first = upload_values_page(upload=upload, user=reviewer, page=1, per_page=50)
    third = upload_values_page(upload=upload, user=reviewer, page=3, per_page=50)
    assert [r.row for r in first.rows] == list(range(3, 53))
    assert [r.row for r in third.rows] == list(range(103, 123))
    assert (first.pages, first.has_previous, first.has_next) == (3, False, True)
    assert (third.first_row, third.last_row, third.has_next) == (101, 120, False)
    assert upload_values_page(upload=upload, user=reviewer, page=99, per_page=50).number == 3
    assert upload_values_page(upload=upload, user=reviewer, page=0, per_page=50).number == 1


# Titles ------------------------------------------------------------------------------------

UPLOADED = datetime(2025, 6, 3, 9, 30, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.parametrize(
    ("kind", "places", "periods", "title"),
    [
        (
            "quarterly",
            ["Southend-on-Sea"],
            ["2024-25 Q1"],
            "Southend-on-Sea: 2024-25 Q1 quarterly return",
        ),
        (
            "quarterly",
            ["Southend-on-Sea", "Thurrock"],
            ["2024-25 Q1", "2024-25 Q2"],
            "Southend-on-Sea and Thurrock: 2024-25 Q1 and 2024-25 Q2 quarterly return",
        ),
        (
            "history",
            ["Basildon", "Southend-on-Sea", "Thurrock"],
            ["2019-20", "2020-21", "2021-22"],
            "Basildon, Southend-on-Sea and Thurrock: 2019-20, 2020-21 and 2021-22 history load",
        ),
        (
            "history",
            ["Basildon", "Braintree", "Southend-on-Sea", "Thurrock"],
            ["2018-19", "2019-20", "2020-21", "2021-22"],
            "Basildon, Braintree and 2 other places: 2018-19 to 2021-22 history load",
        ),
        ("quarterly", ["Thurrock"], [], "Thurrock: quarterly return uploaded 3 June 2025"),
        ("quarterly", [], [], "Quarterly return uploaded 3 June 2025"),
        ("history", [], [], "History load uploaded 3 June 2025"),
    ],
)
def test_a_return_is_named_by_its_places_and_periods(kind, places, periods, title):
    assert return_title(kind=kind, places=places, periods=periods, uploaded_at=UPLOADED) == title


def test_a_title_reads_the_staged_periods_in_time_order_and_the_places_staged(upload):
    thurrock = PlaceFactory(name="Thurrock")
    series = SeriesFactory(place=thurrock)
    stage(upload, series, "2024-25 Q2", 45, 50, 90, row=3)
    stage(upload, series, "2024-25 Q1", 45, 50, 90, row=4)
    stage(upload, SeriesFactory(place=thurrock), "2024-25 Q1", 45, 50, 90, row=5)
    upload.places.set([thurrock])
    upload.original_name = "final-FINAL.xlsx"
    upload.save()
    (titled,) = uploads_titled(ReturnUpload.objects.filter(pk=upload.pk))
    assert upload_title(titled) == "Thurrock: 2024-25 Q1 and 2024-25 Q2 quarterly return"
