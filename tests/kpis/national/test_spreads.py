"""The spread of a publication's values over every area of a type, as Fingertips' spine chart
computes it: worked by hand, and Fingertips' own published test cases.

Hand working uses the definition in kpis/national/spreads.py: sort the n values, take
h = (n - 1) p + 1 and interpolate between the h-th value and the next.
"""

import numpy as np
import pandas as pd
import pytest

from kpis.national import ENGLAND_CODE
from kpis.national.spreads import SPREAD_COLUMNS, area_spreads, percentile, value_spread
from kpis.stats import phe_quantile

COUNTIES = "Counties & UAs (from Apr 2023)"


def figure(code, value, *, kpi="SUICIDE-RATE", period="2019 to 2021", area_type=COUNTIES, **kw):
    """One row of the import's figures frame (whole population unless told otherwise)."""
    return {
        "kpi_code": kpi,
        "period_label": period,
        "period_type": "pooled_years",
        "period_start": pd.Timestamp("2019-01-01"),
        "period_end": pd.Timestamp("2021-12-31"),
        "area_code": code,
        "area_type": area_type,
        "value": value,
        "breakdown_dimension": kw.get("dimension", "all"),
        "suppressed": kw.get("suppressed", False),
    }


def frame(rows, start=1):
    """Figures numbered from ``start``, as the import numbers them."""
    return pd.DataFrame(rows, index=range(start, start + len(rows)))


def spread_of(values):
    """The spread area_spreads gives for values of distinct areas of one type."""
    table = area_spreads(frame([figure(f"E0{i:07d}", v) for i, v in enumerate(values)])).table
    assert len(table) == 1
    return table.iloc[0][["areas", "lowest", "q25", "median", "q75", "highest"]].to_dict()


@pytest.mark.parametrize(
    ("values", "q25", "q75"),
    [
        # fingertips-open AnalysisTest/IndicatorStatsCalculatorTest.cs: TestGetStatsFor50To60,
        # TestGetStatsFor1To100 and TestGetStatsFor1To17.
        (range(50, 61), 52.5, 57.5),
        (range(1, 101), 25.75, 75.25),
        (range(1, 18), 5, 13),
    ],
)
def test_quartiles_are_those_fingertips_publishes_in_its_tests(values, q25, q75):
    spread = spread_of(list(values))
    assert (spread["q25"], spread["q75"]) == (q25, q75)
    assert (spread["lowest"], spread["highest"]) == (min(values), max(values))
    assert (percentile(list(values), 0.25), percentile(list(values), 0.75)) == (q25, q75)


def test_an_even_count_with_ties_worked_by_hand():
    # 3, 7, 7, 8, 10, 15 (n = 6). 25th: h = 5 x 0.25 + 1 = 2.25, 7 + 0.25 x (7 - 7) = 7.
    # Median: h = 3.5, 7 + 0.5 x (8 - 7) = 7.5. 75th: h = 4.75, 8 + 0.75 x (10 - 8) = 9.5.
    expected = {"areas": 6, "lowest": 3, "q25": 7, "median": 7.5, "q75": 9.5, "highest": 15}
    assert spread_of([10, 7, 15, 3, 8, 7]) == expected
    assert value_spread([10, 7, 15, 3, 8, 7]) == expected


def test_an_odd_count_with_ties_interpolates_between_neighbours():
    # 1, 2, 4, 4, 6, 9, 16 (n = 7). 25th: h = 6 x 0.25 + 1 = 2.5, 2 + 0.5 x (4 - 2) = 3.
    # Median: h = 4, the 4th value, 4. 75th: h = 5.5, 6 + 0.5 x (9 - 6) = 7.5.
    expected = {"areas": 7, "lowest": 1, "q25": 3, "median": 4, "q75": 7.5, "highest": 16}
    assert spread_of([16, 4, 1, 9, 4, 2, 6]) == expected


def test_four_areas_have_quartiles_and_three_do_not():
    # Fingertips' TestStatsNotNullIfFourPoints values 4, 5, 6, 6. 25th: h = 1.75,
    # 4 + 0.75 x 1 = 4.75; median: h = 2.5, 5.5; 75th: h = 3.25, 6 + 0.25 x 0 = 6.
    expected = {"areas": 4, "lowest": 4, "q25": 4.75, "median": 5.5, "q75": 6, "highest": 6}
    assert spread_of([6, 4, 6, 5]) == expected
    assert area_spreads(frame([figure(f"E0{i}", v) for i, v in enumerate([4, 5, 6])])).table.empty
    assert value_spread([4, 5, 6, np.nan]) is None


def test_percentiles_are_rounded_to_ten_places_as_fingertips_rounds_them():
    # 0.1 + 0.75 x (0.2 - 0.1) is 0.17500000000000002 in floating point; Fingertips shows 0.175.
    assert 0.1 + 0.75 * (0.2 - 0.1) != 0.175
    assert spread_of([0.1, 0.2, 0.3, 0.4])["q25"] == 0.175


def test_only_whole_population_values_of_real_areas_count_and_england_stands_beside():
    rows = [
        figure(ENGLAND_CODE, 10.4, area_type="England"),
        figure("E10000012", 10.1),  # Essex
        figure("E06000033", 11.9),  # Southend-on-Sea
        figure("E06000034", 9.1),  # Thurrock
        figure("E10000016", 10.9),  # Kent
        figure("E10000015", 8.7),  # Hertfordshire
        figure("E10000020", 12.4),  # Norfolk
        figure("E10000029", np.nan, suppressed=True),  # Suffolk, suppressed: not counted
        figure("E10000016", 30.0, dimension="sex"),  # Kent's females: a breakdown
        figure("e10000016", 10.9),  # Kent again, in lower case: counted once
        figure("UNKNOWN", 50.0),  # records of no known area
        figure("E12000006", 10.0, area_type="Regions"),  # one region: too few for quartiles
        figure("E10000012", 9.0, period="2020 to 2022"),  # another period: three areas only
        figure("E06000033", 9.5, period="2020 to 2022"),
        figure("E06000034", 9.9, period="2020 to 2022"),
    ]
    spreads = area_spreads(frame(rows, start=101))
    # 8.7, 9.1, 10.1, 10.9, 11.9, 12.4 (n = 6). 25th: h = 2.25, 9.1 + 0.25 x 1.0 = 9.35.
    # Median: h = 3.5, 10.1 + 0.5 x 0.8 = 10.5. 75th: h = 4.75, 10.9 + 0.75 x 1.0 = 11.65.
    assert spreads.table.to_dict("records") == [
        {
            "kpi_code": "SUICIDE-RATE",
            "period_label": "2019 to 2021",
            "area_type": COUNTIES,
            "period_type": "pooled_years",
            "period_start": pd.Timestamp("2019-01-01"),
            "period_end": pd.Timestamp("2021-12-31"),
            "areas": 6,
            "lowest": 8.7,
            "q25": 9.35,
            "median": 10.5,
            "q75": 11.65,
            "highest": 12.4,
            "england": 10.4,
        }
    ]
    # Figures 102 to 107 are the six areas counted, all in the first (only) spread.
    assert spreads.members.to_dict() == {102: 0, 103: 0, 104: 0, 105: 0, 106: 0, 107: 0}


def test_each_kpi_and_area_type_has_its_own_spread_and_england_may_be_missing():
    rows = [figure(f"E0600000{i}", v) for i, v in enumerate([1, 2, 3, 4])]
    rows += [figure(f"E0600000{i}", v, kpi="SELF-HARM") for i, v in enumerate([40, 10, 30, 20])]
    rows += [figure(f"E3800000{i}", v, area_type="Sub-ICBs") for i, v in enumerate([5, 6, 7, 8])]
    rows.append(figure(ENGLAND_CODE, 2.5, area_type="England"))  # SUICIDE-RATE's only
    table = area_spreads(frame(rows)).table
    assert list(table.columns) == SPREAD_COLUMNS
    table["england"] = table["england"].astype(object).where(table["england"].notna(), None)
    # 1, 2, 3, 4: 25th h = 1.75, 1 + 0.75 x 1 = 1.75; 75th h = 3.25, 3 + 0.25 x 1 = 3.25.
    # 10, 20, 30, 40 give ten times those; 5, 6, 7, 8 give four more.
    assert table[["kpi_code", "area_type", "q25", "q75", "england"]].to_dict("records") == [
        {"kpi_code": "SELF-HARM", "area_type": COUNTIES, "q25": 17.5, "q75": 32.5, "england": None},
        {
            "kpi_code": "SUICIDE-RATE",
            "area_type": COUNTIES,
            "q25": 1.75,
            "q75": 3.25,
            "england": 2.5,
        },
        {
            "kpi_code": "SUICIDE-RATE",
            "area_type": "Sub-ICBs",
            "q25": 5.75,
            "q75": 7.25,
            "england": 2.5,
        },
    ]


def test_no_figures_give_no_spreads():
    spreads = area_spreads(pd.DataFrame())
    assert spreads.table.empty and list(spreads.table.columns) == SPREAD_COLUMNS
    assert spreads.members.empty


@pytest.mark.parametrize("n", range(4, 61))
def test_the_quartiles_separate_the_outer_quarters_phe_quantile_assigns(n):
    # phe_quantile gives each area its quarter, not cut points; for distinct values the 25th
    # percentile lies between its lowest quarter and the next, the 75th likewise at the top.
    values = np.random.default_rng(n).permutation(np.arange(n) * 1.5 + 3)
    spread = value_spread(values)
    lowest_first = phe_quantile(values, nquantiles=4, invert=False)
    highest_first = phe_quantile(values, nquantiles=4, invert=True)
    assert values[lowest_first == 1].max() <= spread["q25"] <= values[lowest_first == 2].min()
    assert values[highest_first == 2].max() <= spread["q75"] <= values[highest_first == 1].min()
