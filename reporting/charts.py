"""Charts: frames in, plotly figures out (plain JSON-ready dicts; no ORM, no page of its own).

A page puts each figure in a JSON data block beside an empty element and ``static/js/charts.js``
draws it with plotly.js, served from the site's own static files: no inline script runs and no
other host is asked for anything. Every chart enhances a table the page always shows, and every
colour has a name in the legend, a marker shape of its own or words beside it.

Colours follow NHSRplotthedots (Making Data Count), whose rules the statistics engine follows.
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go

INTERVAL_FILL = "rgba(0, 94, 184, 0.15)"
LINE_COLOUR = "#005eb8"
GREY = "#7B7D7D"
TARGET_COLOUR = "#de1b1b"
TRAJECTORY_COLOUR = "#490092"
ENGLAND_COLOUR = "#212b32"

#: Making Data Count point colours and, so colour is never the only mark, a shape each.
SPC_POINTS = {
    "common_cause": ("Common cause variation", GREY, "circle"),
    "special_cause_improvement": ("Special cause: improvement", "#289de0", "triangle-up"),
    "special_cause_concern": ("Special cause: concern", "#fab428", "diamond"),
    "special_cause_neutral_high": ("Special cause: higher", "#361475", "square"),
    "special_cause_neutral_low": ("Special cause: lower", "#361475", "square-open"),
}

#: Funnel outlier levels (PHEindicatormethods' words) in words for people, with colour and shape.
FUNNEL_POINTS = {
    "High (0.001)": ("Above the 99.8% limit", "#fab428", "triangle-up"),
    "High (0.025)": ("Above the 95% limit", "#fcd98a", "triangle-up-open"),
    "Not significant": ("Within the 95% limits", GREY, "circle"),
    "Low (0.025)": ("Below the 95% limit", "#8ec9ef", "triangle-down-open"),
    "Low (0.001)": ("Below the 99.8% limit", "#289de0", "triangle-down"),
}

#: The benchmark against England (kpis.board BENCHMARK_LABELS codes) as a spine-chart marker.
SPINE_MARKERS = {
    "better_99_8": ("Better than England", "#007f3b", "triangle-up"),
    "better_95": ("Better than England", "#007f3b", "triangle-up"),
    "similar": ("Similar to England", "#ffb81c", "circle"),
    "worse_95": ("Worse than England", "#d5281b", "triangle-down"),
    "worse_99_8": ("Worse than England", "#d5281b", "triangle-down"),
    "": ("Not compared with England", "#ffffff", "circle"),
}


def _plain(figure: go.Figure) -> dict:
    """The figure as plain JSON data (numpy values and NaN become numbers and nulls)."""
    return json.loads(figure.to_json())


def _layout(figure: go.Figure, *, title: str, y_title: str = "", x_title: str = "") -> None:
    figure.update_layout(
        title=title,
        yaxis_title=y_title,
        xaxis_title=x_title,
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        legend={"orientation": "h", "y": -0.2},
        font={"family": "Arial, sans-serif"},
    )


def _add_points(
    figure: go.Figure, *, x, y, name: str, colour: str, symbol: str, size: int, **extra
):
    """One named trace of markers, its colour and shape its own (never colour alone)."""
    figure.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker={"color": colour, "symbol": symbol, "size": size, "line": {"width": 1}},
            name=name,
            **extra,
        )
    )


def _add_target_line(
    figure: go.Figure, labels: list, value: float | None, text: str, *, dash: str
) -> None:
    """The target or standard across the whole chart, named in the legend."""
    if value is not None and labels:
        figure.add_trace(
            go.Scatter(
                x=[labels[0], labels[-1]],
                y=[value, value],
                mode="lines",
                line={"color": TARGET_COLOUR, "dash": dash},
                name=text or "Target",
            )
        )


def _none(values) -> list:
    """Values with NaN as None, so plotly leaves a gap."""
    return [None if pd.isna(v) else float(v) for v in values]


def trend_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    unit: str,
    baseline_label: str | None = None,
    target_value: float | None = None,
    target_text: str = "",
) -> dict:
    """One place's values over time with their 95% intervals as a band.

    ``frame`` has one row per period in order: ``label``, ``value``, ``lower95``, ``upper95``
    and, optionally, ``planned`` (the straight path to the target at each period). A
    suppressed or missing value is a gap, never a zero. The baseline period is marked with a
    dashed line; a target value is a red line named by ``target_text``.
    """
    labels = frame["label"].tolist()
    figure = go.Figure()
    if frame[["lower95", "upper95"]].notna().any().any():
        figure.add_trace(
            go.Scatter(
                x=labels + labels[::-1],
                y=_none(frame["upper95"]) + _none(frame["lower95"])[::-1],
                mode="lines",
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
            y=_none(frame["value"]),
            mode="lines+markers",
            line={"color": LINE_COLOUR},
            name="Value",
            connectgaps=False,
        )
    )
    if "planned" in frame and frame["planned"].notna().any():
        figure.add_trace(
            go.Scatter(
                x=labels,
                y=_none(frame["planned"]),
                mode="lines",
                line={"color": TRAJECTORY_COLOUR, "dash": "dot"},
                name="Trajectory to the target",
            )
        )
    _add_target_line(figure, labels, target_value, target_text, dash="dash")
    if baseline_label is not None and baseline_label in labels:
        figure.add_vline(
            x=labels.index(baseline_label),
            line_dash="dash",
            line_color="#425563",
            annotation_text=f"Baseline {baseline_label}",
        )
    _layout(figure, title=title, y_title=unit)
    figure.update_layout(xaxis_type="category")
    return _plain(figure)


def spc_segments(frame: pd.DataFrame) -> pd.Series:
    """Numbers the runs of periods sharing one mean and limits: a rebasing starts a new one."""
    keys = frame[["mean", "lower_limit", "upper_limit"]].round(9)
    changed = (keys != keys.shift()).any(axis=1)
    return changed.cumsum()


def spc_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    unit: str,
    target_value: float | None = None,
    target_text: str = "",
) -> dict:
    """A statistical process control chart as Making Data Count draws one.

    ``frame`` has one row per period in order: ``label``, ``value``, ``mean``, ``lower_limit``,
    ``upper_limit``, ``point_type``. The mean and process limits are drawn per segment, so a
    rebasing after a series break shows as a step, never a slope; each point type is its own
    named trace with its own colour and shape.
    """
    labels = frame["label"].tolist()
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=_none(frame["value"]),
            mode="lines",
            line={"color": GREY},
            name="Value",
            hoverinfo="skip",
        )
    )
    for number, (_, segment) in enumerate(frame.groupby(spc_segments(frame), sort=True)):
        x = segment["label"].tolist()
        for column, name, dash in (
            ("mean", "Mean", "solid"),
            ("lower_limit", "Process limits", "dash"),
            ("upper_limit", "Process limits", "dash"),
        ):
            if segment[column].isna().all():
                continue
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=_none(segment[column]),
                    mode="lines",
                    line={"color": ENGLAND_COLOUR if column == "mean" else GREY, "dash": dash},
                    name=name,
                    legendgroup=name,
                    showlegend=number == 0 and column != "upper_limit",
                )
            )
    for code, (name, colour, symbol) in SPC_POINTS.items():
        points = frame[frame["point_type"].eq(code)]
        if not points.empty:
            _add_points(
                figure,
                x=points["label"].tolist(),
                y=_none(points["value"]),
                name=name,
                colour=colour,
                symbol=symbol,
                size=9,
            )
    _add_target_line(figure, labels, target_value, target_text, dash="dot")
    _layout(figure, title=title, y_title=unit)
    figure.update_layout(
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": labels}
    )
    return _plain(figure)


def caterpillar_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    unit: str,
    comparators: dict[str, float],
) -> dict:
    """Places' values with their 95% intervals, in order, against comparator lines.

    ``frame`` has one row per place in the order to draw, bottom to top: ``place_name``,
    ``value``, ``lower95``, ``upper95``. ``comparators`` maps a name (SET, England) to its value.
    """
    places = frame["place_name"].tolist()
    values = frame["value"].astype(float)
    plus = (frame["upper95"].astype(float) - values).tolist()
    minus = (values - frame["lower95"].astype(float)).tolist()
    figure = go.Figure(
        go.Scatter(
            x=_none(values),
            y=places,
            mode="markers",
            marker={"color": LINE_COLOUR, "size": 9},
            error_x={
                "type": "data",
                "array": _none(plus),
                "arrayminus": _none(minus),
                "color": LINE_COLOUR,
            },
            name="Value with 95% confidence interval",
        )
    )
    for (name, value), dash in zip(comparators.items(), ("dash", "dot", "dashdot"), strict=False):
        figure.add_trace(
            go.Scatter(
                x=[value, value],
                y=[places[0], places[-1]] if places else [],
                mode="lines",
                line={"color": ENGLAND_COLOUR, "dash": dash},
                name=f"{name}: {value:,.1f}",
            )
        )
    _layout(figure, title=title, x_title=unit)
    figure.update_layout(
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": places},
        height=max(300, 40 * len(places) + 150),
    )
    return _plain(figure)


def funnel_chart(
    points: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    title: str,
    unit: str,
    x_title: str,
    average: float,
    average_name: str,
) -> dict:
    """A funnel plot: each place's value by its denominator against the 95% and 99.8% limits.

    ``points``: ``place_name``, ``denominator``, ``value``, ``significance`` (a FUNNEL_POINTS
    key).
    ``limits``: ``x``, ``lower_2s``, ``upper_2s``, ``lower_3s``, ``upper_3s`` on the chart's
    scale (already multiplied).
    """
    figure = go.Figure()
    x = limits["x"].tolist()
    for column, name, dash in (
        ("upper_3s", "99.8% limits", "dot"),
        ("lower_3s", "99.8% limits", "dot"),
        ("upper_2s", "95% limits", "dash"),
        ("lower_2s", "95% limits", "dash"),
    ):
        figure.add_trace(
            go.Scatter(
                x=x,
                y=_none(limits[column]),
                mode="lines",
                line={"color": GREY, "dash": dash},
                name=name,
                legendgroup=name,
                showlegend=column.startswith("upper"),
            )
        )
    if x:
        figure.add_trace(
            go.Scatter(
                x=[x[0], x[-1]],
                y=[average, average],
                mode="lines",
                line={"color": ENGLAND_COLOUR},
                name=f"{average_name}: {average:,.1f}",
            )
        )
    for code, (name, colour, symbol) in FUNNEL_POINTS.items():
        chosen = points[points["significance"].eq(code)]
        if not chosen.empty:
            _add_points(
                figure,
                x=_none(chosen["denominator"]),
                y=_none(chosen["value"]),
                name=name,
                colour=colour,
                symbol=symbol,
                size=10,
                text=chosen["place_name"].tolist(),
                hovertemplate="%{text}: %{y:,.1f} (denominator %{x:,.0f})<extra></extra>",
            )
    _layout(figure, title=title, y_title=unit, x_title=x_title)
    return _plain(figure)


def spine_chart(frame: pd.DataFrame, *, title: str) -> dict:
    """A Fingertips-style spine chart: one row per KPI, England at the centre.

    ``frame`` has one row per KPI, top to bottom: ``label``, and on the chart's 0-1 scale
    (better to the right, England at 0.5) ``worst``, ``q25``, ``q75``, ``best`` and ``value``,
    plus ``benchmark`` (a SPINE_MARKERS key) and ``has_england``: England is marked only on
    the rows that have its value (elsewhere the centre is the middle of the spread).
    """
    labels = frame["label"].tolist()
    figure = go.Figure()
    for low, high, colour, name in (
        ("worst", "best", "#d8dde0", "Worst to best area"),
        ("q25", "q75", "#768692", "25th to 75th percentile"),
    ):
        figure.add_trace(
            go.Bar(
                y=labels,
                x=_none(frame[high] - frame[low]),
                base=_none(frame[low]),
                orientation="h",
                marker={"color": colour},
                name=name,
                hoverinfo="skip",
            )
        )
    for name, colour, symbol in dict.fromkeys(SPINE_MARKERS.values()):
        codes = [code for code, marker in SPINE_MARKERS.items() if marker[0] == name]
        chosen = frame[frame["benchmark"].isin(codes)]
        if not chosen.empty:
            _add_points(
                figure,
                x=_none(chosen["value"]),
                y=chosen["label"].tolist(),
                name=name,
                colour=colour,
                symbol=symbol,
                size=12,
            )
    with_england = frame[frame["has_england"]]
    if not with_england.empty:
        figure.add_trace(
            go.Scatter(
                y=with_england["label"].tolist(),
                x=[0.5] * len(with_england),
                mode="markers",
                marker={"color": TARGET_COLOUR, "symbol": "line-ns-open", "size": 24},
                name="England",
                hoverinfo="skip",
            )
        )
    _layout(figure, title=title, x_title="Worse ← → Better")
    figure.update_layout(
        barmode="overlay",
        xaxis={"range": [-0.02, 1.02], "showticklabels": False, "zeroline": False},
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels[::-1],
            "automargin": True,
        },
        height=max(300, 36 * len(labels) + 150),
    )
    return _plain(figure)
