"""The KPI and place pages' figures: funnel plots around a whole place, spine-chart scale."""

import math

import numpy as np
import pandas as pd
import pytest

from kpis.dashboards import (
    ASSESSMENT_COLUMNS,
    caterpillar_frame,
    funnel,
    latest_label,
    series_frame,
    spine_positions,
)


def _frame(rows: list[dict]) -> pd.DataFrame:
    blank = dict.fromkeys(ASSESSMENT_COLUMNS)
    frame = pd.DataFrame([blank | row for row in rows], columns=ASSESSMENT_COLUMNS)
    for column in ("value", "numerator", "denominator", "lower95", "upper95"):
        frame[column] = frame[column].astype(float)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's score interval for x successes of n, from its definition."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_series_frame_keeps_one_place_and_period_type_oldest_first():
    frame = _frame(
        [
            {"place": "a", "period_type": "quarter", "label": "Q2", "period_end": "2024-09-30"},
            {"place": "a", "period_type": "quarter", "label": "Q1", "period_end": "2024-06-30"},
            {
                "place": "a",
                "period_type": "financial_year",
                "label": "Y",
                "period_end": "2025-03-31",
            },
            {"place": "b", "period_type": "quarter", "label": "Q1", "period_end": "2024-06-30"},
        ]
    )
    assert series_frame(frame, place="a", period_type="quarter")["label"].tolist() == ["Q1", "Q2"]


def test_the_latest_period_is_the_latest_with_a_value_at_any_place_shown():
    frame = _frame(
        [
            {
                "place": "a",
                "period_type": "quarter",
                "label": "Q1",
                "period_end": "2024-06-30",
                "value": 1,
            },
            {"place": "a", "period_type": "quarter", "label": "Q2", "period_end": "2024-09-30"},
            {
                "place": "b",
                "period_type": "quarter",
                "label": "Q3",
                "period_end": "2024-12-31",
                "value": 2,
            },
        ]
    )
    assert latest_label(frame, period_type="quarter", places=["a"]) == "Q1"
    assert latest_label(frame, period_type="quarter", places=["a", "b"]) == "Q3"
    assert latest_label(frame, period_type="month", places=["a"]) is None


def test_the_caterpillar_orders_places_by_value_and_leaves_out_comparators():
    frame = _frame(
        [
            {"place": p, "place_name": p.upper(), "label": "Q1", "value": v}
            for p, v in (("set", 50), ("b", 60), ("a", 40), ("c", None), ("england", 55))
        ]
    )
    rows = caterpillar_frame(frame, label="Q1", exclude={"set", "england"})
    assert rows["place"].tolist() == ["a", "b"]


def _places(*rows):
    return _frame(
        [
            {
                "place": code,
                "place_name": code.title(),
                "place_kind": kind,
                "label": "2024-25",
                "numerator": x,
                "denominator": n,
                "value": 100 * x / n,
            }
            for code, kind, x, n in rows
        ]
    )


def test_a_funnel_is_drawn_around_the_whole_place_and_judges_each_place_by_wilson_limits():
    frame = _places(
        ("set", "system", 500, 1000),
        ("a", "alliance", 10, 100),
        ("b", "alliance", 50, 100),
        ("c", "alliance", 62, 100),
        ("d", "alliance", 35, 100),
        ("southend", "council", 300, 400),  # another kind: not in the alliances' funnel
    )
    result = funnel(
        frame, label="2024-25", statistic="proportion", multiplier=100, whole_place="set"
    )
    assert result.average == pytest.approx(50.0)
    # Expected levels from the definition: a value is above the 95% (99.8%) limit when its own
    # Wilson interval at z for 0.975 (0.999) lies wholly above the average, below likewise.
    expected = {}
    for place, x in (("a", 10), ("b", 50), ("c", 62), ("d", 35)):
        low95, high95 = _wilson(x, 100, 1.959963984540054)
        low998, high998 = _wilson(x, 100, 3.090232306167813)
        if high998 < 0.5:
            expected[place] = "Low (0.001)"
        elif high95 < 0.5:
            expected[place] = "Low (0.025)"
        elif low998 > 0.5:
            expected[place] = "High (0.001)"
        elif low95 > 0.5:
            expected[place] = "High (0.025)"
        else:
            expected[place] = "Not significant"
    got = dict(zip(result.points["place"], result.points["significance"], strict=True))
    assert got == expected
    assert expected == {
        "a": "Low (0.001)",
        "b": "Not significant",
        "c": "High (0.025)",
        "d": "Low (0.025)",
    }
    # The 95% limits at a population of 100 are the proportions whose Wilson interval just
    # reaches the average: the upper one has 0.5 as its lower Wilson bound.
    at_100 = result.limits.loc[result.limits["x"].eq(100)].iloc[0]
    low, _ = _wilson(at_100["upper_2s"] / 100 * 100, 100, 1.959963984540054)
    assert low == pytest.approx(0.5, abs=1e-9)


def test_the_funnel_average_is_the_whole_place_not_the_overlapping_places_pooled():
    # Two alliances share an area: pooled, their counts would give 20 / 200 = 10%.
    frame = _places(
        ("set", "system", 30, 100),
        ("a", "alliance", 5, 50),
        ("b", "alliance", 5, 50),
        ("c", "alliance", 5, 50),
        ("d", "alliance", 5, 50),
    )
    result = funnel(
        frame, label="2024-25", statistic="proportion", multiplier=100, whole_place="set"
    )
    assert result.average == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("statistic", "rows", "reason"),
    [
        ("crude_rate", [("set", "system", 1, 10)], "proportions only"),
        ("proportion", [("a", "alliance", 1, 10)], "whole system"),
        ("proportion", [("set", "system", 1, 10), ("a", "alliance", 1, 10)], "Fewer than 3"),
    ],
)
def test_a_funnel_that_cannot_be_drawn_says_why(statistic, rows, reason):
    result = funnel(
        _places(*rows), label="2024-25", statistic=statistic, multiplier=100, whole_place="set"
    )
    assert result.points is None and reason in result.reason


def test_spine_positions_put_england_at_the_centre_and_better_to_the_right():
    spread = {"lowest": 30.0, "q25": 40.0, "q75": 60.0, "highest": 80.0}
    # Half-width: the farthest of lowest (20 away) and highest (30 away) from England's 50.
    higher = spine_positions(value=70.0, england=50.0, direction="higher_is_better", **spread)
    assert higher == pytest.approx(
        {
            "worst": 0.5 - 20 / 60,
            "q25": 0.5 - 10 / 60,
            "q75": 0.5 + 10 / 60,
            "best": 1.0,
            "value": 0.5 + 20 / 60,
        }
    )
    lower = spine_positions(value=70.0, england=50.0, direction="lower_is_better", **spread)
    # Mirrored: 80 is now the worst, on the left; 70 is worse than England.
    assert lower == pytest.approx(
        {
            "worst": 0.0,
            "q25": 0.5 - 10 / 60,
            "q75": 0.5 + 10 / 60,
            "best": 0.5 + 20 / 60,
            "value": 0.5 - 20 / 60,
        }
    )


def test_without_england_the_middle_of_the_quartiles_is_the_centre():
    positions = spine_positions(
        value=None, england=None, direction="neutral", lowest=0.0, q25=10.0, q75=30.0, highest=100.0
    )
    assert positions["value"] is None
    assert positions["q25"] == pytest.approx(0.5 - 10 / 160) and positions["best"] == pytest.approx(
        1.0
    )
    assert not np.isnan(positions["worst"])


def test_the_selector_reads_the_columns_the_pure_functions_expect():
    from kpis.selectors.dashboards import ASSESSMENT_FIELDS

    assert list(ASSESSMENT_FIELDS.values()) == ASSESSMENT_COLUMNS
