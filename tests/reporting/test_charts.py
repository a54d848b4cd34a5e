"""Charts are frames in, plotly HTML out, drawn from the values given and nothing else."""

import json
import re

import numpy as np
import pandas as pd

from reporting.charts import trend_chart


def figure_data(html: str) -> list[dict]:
    """The traces plotly.js is handed in the ``<div>``'s script."""
    match = re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S)
    return json.loads(match.group(1))


def test_a_trend_draws_each_value_with_its_interval_and_leaves_gaps():
    frame = pd.DataFrame(
        {
            "label": ["2019-20", "2020-21", "2021-22"],
            "value": [50.0, np.nan, 46.0],
            "lower95": [45.2, np.nan, 41.5],
            "upper95": [54.8, np.nan, 50.5],
        }
    )
    html = trend_chart(frame, title="Recovery", unit="%", baseline_label="2020-21")
    assert html.lstrip().startswith("<div") and "<html" not in html and "cdn.plot.ly" not in html
    band, line = figure_data(html)
    assert band["name"] == "95% confidence interval"
    # The band goes out along the upper limits and back along the lower ones.
    assert band["x"] == ["2019-20", "2020-21", "2021-22", "2021-22", "2020-21", "2019-20"]
    assert band["y"][:3] == [54.8, None, 50.5] and band["y"][3:] == [41.5, None, 45.2]
    # A missing value is a gap, never drawn as zero.
    assert line["y"] == [50.0, None, 46.0] and line["connectgaps"] is False


def test_a_trend_without_intervals_has_no_band():
    frame = pd.DataFrame(
        {"label": ["Apr 2023"], "value": [3.0], "lower95": [np.nan], "upper95": [np.nan]}
    )
    (line,) = figure_data(trend_chart(frame, title="Count", unit="people"))
    assert line["name"] == "Value" and line["y"] == [3.0]
