"""The board view's selector and words: place mapping, cell text, staleness, query counts."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.board import Cell, change_text, format_number, stale_since, value_cell
from kpis.models import Frequency
from kpis.selectors.board import BOARD_COLUMNS, board, board_place_map, equivalent_places
from strategy.models import GeographyBasis, Place
from tests.kpis.factories import AssessmentFactory, KpiFactory, PeriodFactory, SeriesFactory

REGISTERED = GeographyBasis.GP_REGISTERED
TODAY = date(2025, 6, 1)


def _latest(kpi, place_code, label="2024-25", **fields):
    series = SeriesFactory(kpi=kpi, place=Place.objects.get(code=place_code))
    return AssessmentFactory(
        series=series, period=PeriodFactory(label=label), is_latest=True, **fields
    )


def _codes(candidates):
    return [c.code for c in candidates]


def test_columns_map_to_places_with_exactly_their_areas(catalogue_data):
    columns, mapping = board_place_map(column_codes=BOARD_COLUMNS)
    assert [c.code for c in columns] == list(BOARD_COLUMNS)
    after_icbs, before_icbs = date(2025, 3, 31), date(2022, 3, 31)
    southend = mapping["southend"]
    assert _codes(equivalent_places(southend, basis=REGISTERED, on=after_icbs)) == ["sub-icb-99g"]
    assert _codes(equivalent_places(southend, basis=REGISTERED, on=before_icbs)) == ["ccg-99g"]
    assert _codes(equivalent_places(southend, basis="resident", on=after_icbs)) == ["southend"]
    assert _codes(equivalent_places(mapping["set"], basis=REGISTERED, on=after_icbs)) == [
        "set-registered"
    ]
    # Castle Point and Rochford (99F) plus Southend (99G): no single registered place.
    assert (
        equivalent_places(mapping["alliance-south-east-essex"], basis=REGISTERED, on=after_icbs)
        == []
    )
    assert equivalent_places(mapping["essex"], basis=REGISTERED, on=after_icbs) == []
    # Same areas, same basis: the alliance's own place first, then Thurrock council's.
    assert _codes(
        equivalent_places(mapping["alliance-thurrock"], basis="resident", on=after_icbs)
    ) == ["alliance-thurrock", "thurrock"]


def test_registered_kpi_shows_the_equal_footprint_place_and_says_where_there_is_none(
    catalogue_data,
):
    kpi = KpiFactory(geography_basis=REGISTERED)
    _latest(kpi, "sub-icb-99g", value=61.25, lower95=55.0, upper95=67.5)
    # An older CCG value is not shown: the CCG was not valid at the KPI's latest period.
    _latest(kpi, "ccg-99g", label="2021-22", value=10.0)
    # A value of a different footprint (Castle Point and Rochford) is never shown for SEE.
    _latest(kpi, "sub-icb-99f", value=99.0)
    table = board(column_codes=BOARD_COLUMNS, today=TODAY)
    (row,) = [r for r in table.rows if r.kpi == kpi]
    cells = {cell.column: cell for cell in row.cells}
    assert cells["southend"].source_place == "sub-icb-99g"
    assert cells["southend"].value == "61.2%"  # round half to even of 61.25 at 1 place
    assert cells["southend"].interval == "95% CI 55.0% to 67.5%"
    assert cells["alliance-south-east-essex"].state == "not_reported"
    assert cells["alliance-south-east-essex"].reason == "Not reported for this area"
    assert cells["essex"].reason == "Not reported for this area"
    # Thurrock has a registered equivalent (07G) but no value there yet.
    assert cells["thurrock"].state == "no_value"
    assert cells["thurrock"].reason == "No value for this area yet"
    assert "99.0%" not in {cell.value for cell in row.cells}


def test_cell_text_for_a_hand_made_assessment():
    record = {
        "series__place__code": "southend",
        "series__place__name": "Southend-on-Sea",
        "period__label": "2024-25",
        "period__end": date(2025, 3, 31),
        "value": 42.0,
        "lower95": 40.0,
        "upper95": 44.0,
        "baseline_label": "2020-21",
        "change_category": "significant_decrease",
        "change_reason": "",
        "spc_point_type": "special_cause_concern",
        "spc_reason": "",
        "assurance": "inconsistent",
        "benchmark_england": "worse_95",
        "benchmark_england_by_source": False,
        "verdict": "needs_attention",
        "verdict_reason": "Special-cause variation in the wrong direction.",
        "value_status": "approved",
    }
    kpi = {
        "unit": "%",
        "direction": "higher_is_better",
        "frequency": Frequency.ANNUAL,
        "publication_lag_days": 100,
    }
    cell = value_cell("southend", record, kpi=kpi, today=TODAY)
    assert cell == Cell(
        column="southend",
        state="value",
        source_place="southend",
        source_place_name="Southend-on-Sea",
        period="2024-25",
        value="42.0%",
        interval="95% CI 40.0% to 44.0%",
        change="Significantly worse than 2020-21",
        spc="Special cause: concern",
        spc_tag="nhsuk-tag--orange",
        spc_icon="concern_low",  # higher is better, so a concern is low
        assurance="Hit and miss: may or may not meet the target",
        assurance_tag="nhsuk-tag--grey",
        assurance_icon="hit_and_miss",
        benchmark="Worse than England (95%)",
        verdict="needs_attention",
        verdict_label="Needs attention",
        verdict_tag="nhsuk-tag--orange",
        verdict_reason="Special-cause variation in the wrong direction.",
        unpublished="Not yet published: approved, awaiting release",
        stale="",
    )
    lower_better = value_cell(
        "southend",
        {
            **record,
            "value_status": "published",
            "verdict": "cannot_assess",
            "verdict_reason": "suppressed by the source",
            "change_category": "not_tested",
            "change_reason": "this is the baseline period",
            "spc_point_type": "",
            "spc_reason": "too few points",
            "assurance": "",
            "benchmark_england": "",
            "value": None,
            "lower95": None,
            "upper95": None,
        },
        kpi={**kpi, "direction": "lower_is_better"},
        today=TODAY,
    )
    assert lower_better.unpublished == ""
    assert lower_better.value == "No value" and lower_better.interval == ""
    assert lower_better.change == "Change not tested: this is the baseline period"
    assert lower_better.spc == "No SPC: too few points" and lower_better.spc_tag == ""
    assert lower_better.assurance == "No assurance: no target to test"
    assert lower_better.benchmark == "Not compared with England"
    assert lower_better.verdict_label == "Cannot be assessed"
    assert lower_better.reason == "suppressed by the source"
    decrease_lower_better = value_cell(
        "southend", record, kpi={**kpi, "direction": "lower_is_better"}, today=TODAY
    )
    assert decrease_lower_better.change == "Significantly better than 2020-21"
    assert decrease_lower_better.spc_icon == "concern_high"  # lower is better: concern is high


def test_staleness_is_lag_plus_one_reporting_period_after_the_period_end():
    # 31 Dec 2024 + 75 days' lag + 92 days (quarterly) = 167 days = 16 June 2025.
    end = date(2024, 12, 31)
    quarterly = {"lag_days": 75, "frequency": "quarterly", "period_end": end}
    assert stale_since(**quarterly, today=date(2025, 6, 16)) is None
    assert stale_since(**quarterly, today=date(2025, 6, 17)) == date(2025, 6, 16)
    # No stated lag: 90 days. 31 Mar 2024 + 90 + 366 (annual) = 30 June 2025.
    annual = {"lag_days": None, "frequency": "annual", "period_end": date(2024, 3, 31)}
    assert stale_since(**annual, today=date(2025, 7, 1)) == date(2025, 6, 30)


def test_stale_cell_says_when_a_newer_period_was_due(catalogue_data):
    kpi = KpiFactory(publication_lag_days=75, frequency=Frequency.QUARTERLY)
    _latest(kpi, "southend", label="2023-24")
    # 31 Mar 2024 + 75 + 92 = 14 September 2024.
    table = board(column_codes=["southend"], today=date(2024, 9, 15))
    (row,) = [r for r in table.rows if r.kpi == kpi]
    assert row.cells[0].stale == "Out of date: a newer period was due by 14 September 2024"
    table = board(column_codes=["southend"], today=date(2024, 9, 14))
    (row,) = [r for r in table.rows if r.kpi == kpi]
    assert row.cells[0].stale == ""


def test_numbers_carry_their_unit():
    assert format_number(12.345, "per 100,000") == "12.3 per 100,000"
    assert format_number(1234.0, "count") == "1,234"
    assert format_number(None, "%") == ""


def test_verdict_and_cohort_filters(catalogue_data):
    off = KpiFactory(cohort="cyp")
    fine = KpiFactory(cohort="adults")
    _latest(off, "thurrock", verdict="off_track")
    _latest(fine, "thurrock", verdict="on_track")
    codes = {
        r.kpi.code for r in board(column_codes=BOARD_COLUMNS, today=TODAY, verdict="off_track").rows
    }
    assert codes == {off.code}
    codes = {r.kpi.code for r in board(column_codes=BOARD_COLUMNS, today=TODAY, cohort="cyp").rows}
    assert off.code in codes and fine.code not in codes


@pytest.mark.parametrize("how_many", [2, 20])
def test_board_reads_a_constant_number_of_queries(catalogue_data, how_many):
    for _ in range(how_many):
        kpi = KpiFactory()
        for place in ("southend", "thurrock", "alliance-mid-essex"):
            _latest(kpi, place)
    with CaptureQueriesContext(connection) as queries:
        table = board(column_codes=BOARD_COLUMNS, today=TODAY)
    # Places, memberships; KPIs, their outcomes, their priorities with themes; assessments.
    assert len(queries) == 6
    assert sum(cell.state == "value" for row in table.rows for cell in row.cells) >= 3 * how_many


def test_a_change_not_tested_says_why_in_words():
    assert (
        change_text("not_tested", "higher_is_better", "2020-21", "no_interval")
        == "Change not tested: no margin of error to test it with"
    )
