"""Charts are frames in, plotly figures out, drawn from the values given and nothing else."""

import json

import numpy as np
import pandas as pd
import pytest

from reporting.charts import (
    caterpillar_chart,
    funnel_chart,
    spc_chart,
    spc_segments,
    spine_chart,
    trend_chart,
)


def _named(figure: dict) -> dict[str, dict]:
    return {trace.get("name"): trace for trace in figure["data"]}


def test_a_trend_draws_each_value_with_its_interval_and_leaves_gaps():
    frame = pd.DataFrame(
        {
            "label": ["2019-20", "2020-21", "2021-22"],
            "value": [50.0, np.nan, 46.0],
            "lower95": [45.2, np.nan, 41.5],
            "upper95": [54.8, np.nan, 50.5],
            "planned": [np.nan, 48.0, 52.0],
        }
    )
    figure = trend_chart(
        frame,
        title="Recovery",
        unit="%",
        baseline_label="2020-21",
        target_value=50.0,
        target_text="Standard: ≥ 50",
    )
    json.dumps(figure)  # plain JSON data, ready for the page's data block
    traces = _named(figure)
    band, line = traces["95% confidence interval"], traces["Value"]
    # The band goes out along the upper limits and back along the lower ones.
    assert band["x"] == ["2019-20", "2020-21", "2021-22", "2021-22", "2020-21", "2019-20"]
    assert band["y"][:3] == [54.8, None, 50.5] and band["y"][3:] == [41.5, None, 45.2]
    # A missing value is a gap, never drawn as zero.
    assert line["y"] == [50.0, None, 46.0] and line["connectgaps"] is False
    assert traces["Trajectory to the target"]["y"] == [None, 48.0, 52.0]
    assert traces["Standard: ≥ 50"]["y"] == [50.0, 50.0]
    (baseline,) = figure["layout"]["shapes"]
    assert baseline["x0"] == 1  # the baseline's position on the category axis


def test_a_trend_without_intervals_or_target_draws_the_values_only():
    frame = pd.DataFrame(
        {"label": ["Apr 2023"], "value": [3.0], "lower95": [np.nan], "upper95": [np.nan]}
    )
    (line,) = trend_chart(frame, title="Count", unit="people")["data"]
    assert line["name"] == "Value" and line["y"] == [3.0]


def _spc_frame():
    return pd.DataFrame(
        {
            "label": ["M1", "M2", "M3", "M4", "M5"],
            "value": [10.0, 11.0, 30.0, 21.0, 20.0],
            "mean": [10.5, 10.5, 10.5, 20.0, 20.0],
            "lower_limit": [5.0, 5.0, 5.0, 15.0, 15.0],
            "upper_limit": [16.0, 16.0, 16.0, 25.0, 25.0],
            "point_type": [
                "common_cause",
                "common_cause",
                "special_cause_concern",
                "common_cause",
                "special_cause_improvement",
            ],
        }
    )


def test_the_control_chart_steps_at_a_rebasing_and_names_each_kind_of_point():
    frame = _spc_frame()
    assert spc_segments(frame).tolist() == [1, 1, 1, 2, 2]
    figure = spc_chart(frame, title="Waits", unit="%")
    means = [t for t in figure["data"] if t.get("legendgroup") == "Mean"]
    # One mean line per segment, never a slope joining 10.5 to 20.
    assert [(m["x"], m["y"]) for m in means] == [
        (["M1", "M2", "M3"], [10.5, 10.5, 10.5]),
        (["M4", "M5"], [20.0, 20.0]),
    ]
    traces = _named(figure)
    concern = traces["Special cause: concern"]
    assert concern["x"] == ["M3"] and concern["marker"]["color"] == "#fab428"
    assert traces["Special cause: improvement"]["marker"]["symbol"] == "triangle-up"
    assert traces["Common cause variation"]["x"] == ["M1", "M2", "M4"]


def test_the_caterpillar_draws_intervals_as_distances_from_each_value():
    frame = pd.DataFrame(
        {
            "place_name": ["A", "B"],
            "value": [40.0, 60.0],
            "lower95": [35.0, 52.0],
            "upper95": [46.0, 67.0],
        }
    )
    figure = caterpillar_chart(frame, title="Q1", unit="%", comparators={"England": 55.0})
    points = figure["data"][0]
    assert points["y"] == ["A", "B"] and points["x"] == [40.0, 60.0]
    assert points["error_x"]["array"] == [6.0, 7.0] and points["error_x"]["arrayminus"] == [
        5.0,
        8.0,
    ]
    assert _named(figure)["England: 55.0"]["x"] == [55.0, 55.0]


def test_the_funnel_plots_each_level_in_its_own_named_trace():
    points = pd.DataFrame(
        {
            "place_name": ["A", "B"],
            "denominator": [100.0, 200.0],
            "value": [10.0, 50.0],
            "significance": ["Low (0.001)", "Not significant"],
        }
    )
    limits = pd.DataFrame(
        {
            "x": [1.0, 200.0],
            "lower_2s": [0.0, 43.0],
            "upper_2s": [97.0, 57.0],
            "lower_3s": [0.0, 39.0],
            "upper_3s": [99.0, 61.0],
        }
    )
    traces = _named(
        funnel_chart(
            points, limits, title="Q1", unit="%", x_title="People", average=50.0, average_name="SET"
        )
    )
    assert traces["Below the 99.8% limit"]["x"] == [100.0] and traces["Below the 99.8% limit"][
        "text"
    ] == ["A"]
    assert traces["Within the 95% limits"]["y"] == [50.0]
    assert traces["SET: 50.0"]["y"] == [50.0, 50.0]


def test_the_spine_chart_draws_the_spread_as_bars_from_their_base():
    frame = pd.DataFrame(
        {
            "label": ["K1"],
            "worst": [0.2],
            "q25": [0.4],
            "q75": [0.6],
            "best": [1.0],
            "value": [0.7],
            "benchmark": ["better_95"],
            "has_england": [True],
        }
    )
    traces = _named(spine_chart(frame, title="Southend"))
    whole, middle = traces["Worst to best area"], traces["25th to 75th percentile"]
    assert whole["base"] == [0.2] and whole["x"] == [0.8]
    assert middle["base"] == [0.4] and middle["x"] == [pytest.approx(0.2)]
    assert traces["Better than England"]["x"] == [0.7]
    assert traces["England"]["x"] == [0.5] and traces["England"]["y"] == ["K1"]
