"""Charts: frames in, plotly HTML out (a ``<div>``, no ORM, no page of its own).

plotly.js is served from the site's own static files, so figures render with
``include_plotlyjs=False``; every chart enhances a table the page always shows.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

INTERVAL_FILL = "rgba(0, 94, 184, 0.15)"
LINE_COLOUR = "#005eb8"


def trend_chart(
    frame: pd.DataFrame, *, title: str, unit: str, baseline_label: str | None = None
) -> str:
    """A place's values over time with their 95% intervals as a band, as an HTML ``<div>``.

    ``frame`` has one row per period in order: ``label``, ``value``, ``lower95``, ``upper95``.
    A suppressed or missing value is a gap, never a zero. The baseline period, when given, is
    marked with a dashed line.
    """
    labels = frame["label"].tolist()
    figure = go.Figure()
    if frame[["lower95", "upper95"]].notna().any().any():
        figure.add_trace(
            go.Scatter(
                x=labels + labels[::-1],
                y=frame["upper95"].tolist() + frame["lower95"].tolist()[::-1],
                fill="toself",
                fillcolor=INTERVAL_FILL,
                line={"width": 0},
                hoverinfo="skip",
                name="95% confidence interval",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=frame["value"].tolist(),
            mode="lines+markers",
            line={"color": LINE_COLOUR},
            name="Value",
            connectgaps=False,
        )
    )
    if baseline_label is not None and baseline_label in labels:
        figure.add_vline(x=labels.index(baseline_label), line_dash="dash", line_color="#425563")
    figure.update_layout(
        title=title,
        yaxis_title=unit,
        xaxis_type="category",
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
    )
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})
