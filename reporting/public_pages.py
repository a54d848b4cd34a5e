"""The public outcome pages, composed from published figures only (kpis.selectors.public_pages).

Each figure the public reads carries its interval, a sentence generated from its stored
assessment, and, when suppressed, the reason in place of the number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kpis.board import BENCHMARK_LABELS, format_number, interval_text
from kpis.dashboards import equal_footprint_rows, series_frame
from kpis.models import Kpi
from kpis.selectors.board import board_place_map
from kpis.selectors.public_pages import public_kpis, published_frame
from kpis.selectors.vintages import series_vintages
from kpis.wording import Facts, change_sentence
from strategy.models import Place

from . import charts

#: The place whose figure heads a KPI: the whole system, on the KPI's own geography basis.
WHOLE_PLACE_KIND = "system"


@dataclass
class Figure:
    """One published figure in words."""

    kpi: Kpi
    place: str
    place_code: str
    period: str
    value: str
    interval: str
    sentence: str
    benchmark: str
    suppressed: bool
    reason: str
    #: Set when the value differs from the one first published: what that was, and when.
    revised_from: str = ""
    revised_in: str = ""


@dataclass
class KpiFigures:
    """The public KPI page's figures: its headline, the trend at the whole place with a table
    of every period, and each place's latest figure."""

    headline: Figure | None
    trend: dict | None
    trend_rows: list[Figure] = field(default_factory=list)
    places: list[Figure] = field(default_factory=list)
    trend_place: str = ""


def _figure(kpi: Kpi, row) -> Figure:
    facts = Facts(title=kpi.title, unit=kpi.unit, direction=kpi.direction)
    value = None if pd.isna(row["value"]) else float(row["value"])
    baseline = row["baseline_value"]
    return Figure(
        kpi=kpi,
        place=row["place_name"],
        place_code=row["place"],
        period=row["label"],
        value=format_number(value, kpi.unit) if value is not None else "Not shown",
        interval=interval_text(row["lower95"], row["upper95"]),
        sentence=change_sentence(
            facts,
            place=row["place_name"],
            period=row["label"],
            value=value,
            suppressed=bool(row["public_suppressed"]),
            baseline_label=row["baseline_label"] or "",
            baseline_value=None if pd.isna(baseline) else float(baseline),
            change_category=row["change_category"] or "",
            change_reason=row["change_reason"] or "",
            baseline_withheld=bool(row["baseline_hidden"]),
        ),
        benchmark=BENCHMARK_LABELS.get(row["benchmark_england"] or "", ""),
        suppressed=bool(row["public_suppressed"]),
        reason=row["suppression_reason"] or "",
    )


def _revised(figure: Figure, row, kpi: Kpi) -> Figure:
    """The figure marked revised, with its first-published value and the release that
    changed it, where it differs from what was first published."""
    if row.get("revised") is True:
        first = row["first_published_value"]
        figure.revised_from = "not shown" if pd.isna(first) else format_number(first, kpi.unit)
        figure.revised_in = row["revised_in_release"]
    return figure


def _headline_rows(frame: pd.DataFrame, kpis: dict[int, Kpi]) -> pd.DataFrame:
    """Each KPI's latest figure at the whole system of its own basis."""
    whole = frame[frame["place_kind"].eq(WHOLE_PLACE_KIND) & frame["within_set"]]
    basis = whole["kpi_id"].map({pk: k.geography_basis for pk, k in kpis.items()})
    whole = whole[whole["place_basis"].eq(basis)]
    return whole.sort_values("period_end").drop_duplicates("kpi_id", keep="last")


def headlines(*, kpi_ids) -> dict[int, Figure]:
    """Each KPI's headline figure (latest, at SET), by KPI id: two queries."""
    kpis = public_kpis()
    frame = published_frame(kpi_ids=kpi_ids, latest_only=True)
    return {
        row["kpi_id"]: _figure(kpis[row["kpi_id"]], row)
        for row in _headline_rows(frame, kpis).to_dict("records")
    }


def kpi_figures(*, kpi: Kpi, as_of=None, latest_release=None) -> KpiFigures:
    """Everything published about one KPI, now (``latest_release`` the latest published)
    or as release ``as_of`` left it: two queries."""
    frame = published_frame(kpi_ids=[kpi.pk], as_of=as_of)
    if frame.empty:
        return KpiFigures(headline=None, trend=None)
    heads = _headline_rows(frame[frame["period_type"].eq(kpi.period_type)], {kpi.pk: kpi})
    latest = frame.sort_values("period_end").drop_duplicates("place_id", keep="last")
    places = [
        _figure(kpi, row)
        for row in latest.sort_values(["place_position", "place_name"]).to_dict("records")
    ]
    if heads.empty:
        return KpiFigures(headline=None, trend=None, places=places)
    head = heads.iloc[0]
    series = series_frame(frame, place=head["place"], period_type=head["period_type"])
    vintages = series_vintages(series_ids=[int(head["series"])], as_of=as_of or latest_release)
    series = series.merge(
        vintages.rename(columns={"period": "period_id"}), on=["series", "period_id"], how="left"
    )
    trend = None
    if series["value"].notna().any():
        baseline = series["baseline_label"].replace("", pd.NA).dropna()
        trend = charts.trend_chart(
            series,
            title=head["place_name"],
            unit=kpi.unit,
            baseline_label=baseline.iloc[-1] if len(baseline) else None,
        )
    return KpiFigures(
        headline=_figure(kpi, head),
        trend=trend,
        trend_rows=[_revised(_figure(kpi, row), row, kpi) for row in series.to_dict("records")],
        places=places,
        trend_place=head["place_name"],
    )


def _place_frame(place: Place, kpis: dict[int, Kpi]) -> pd.DataFrame:
    """Each KPI's latest published row for one place, in three queries.

    A KPI reported on another geography basis (GP-registered) gives the figure of the place
    with exactly this place's areas on that basis, which the figure names.
    """
    _, mapping = board_place_map(column_codes=[place.code])
    candidates = mapping.get(place.code) or []
    frame = published_frame(
        place_ids=[c.place_id for c in candidates] or [place.pk], latest_only=True
    )
    if candidates:
        frame = equal_footprint_rows(
            frame, candidates, basis={pk: kpi.geography_basis for pk, kpi in kpis.items()}
        )
    return frame.sort_values("period_end").drop_duplicates("kpi_id", keep="last")


def place_figures(*, place: Place) -> list[Figure]:
    """Every KPI's latest published figure at one place, by KPI code: four queries."""
    kpis = public_kpis()
    rows = _place_frame(place, kpis)
    figures = [_figure(kpis[row["kpi_id"]], row) for row in rows.to_dict("records")]
    return sorted(figures, key=lambda f: f.kpi.code)


#: The columns of a public page's data download.
DOWNLOAD_COLUMNS = [
    "kpi_code",
    "kpi_title",
    "unit",
    "place_code",
    "place_name",
    "period",
    "value",
    "lower95",
    "upper95",
    "suppressed",
    "suppression_reason",
    "baseline",
    "change",
    "release",
]


def _download_rows(frame: pd.DataFrame, kpis: dict[int, Kpi]) -> list[dict]:
    """Published rows as a download gives them: a suppressed figure blank, with its reason."""
    frame = frame.sort_values(["kpi_id", "place_position", "place_name", "period_end"])
    return [
        {
            "kpi_code": kpis[row["kpi_id"]].code,
            "kpi_title": kpis[row["kpi_id"]].title,
            "unit": kpis[row["kpi_id"]].unit,
            "place_code": row["place"],
            "place_name": row["place_name"],
            "period": row["label"],
            "value": None if pd.isna(row["value"]) else row["value"],
            "lower95": None if pd.isna(row["lower95"]) else row["lower95"],
            "upper95": None if pd.isna(row["upper95"]) else row["upper95"],
            "suppressed": bool(row["public_suppressed"]),
            "suppression_reason": row["suppression_reason"] or "",
            "baseline": row["baseline_label"] or "",
            "change": row["change_category"] or "",
            "release": row["release_title"],
        }
        for row in frame.to_dict("records")
    ]


def kpi_download(*, kpi: Kpi, as_of=None) -> list[dict]:
    """Every published figure of one KPI, for CSV and XLSX: one query."""
    return _download_rows(published_frame(kpi_ids=[kpi.pk], as_of=as_of), {kpi.pk: kpi})


def place_download(*, place: Place) -> list[dict]:
    """Each KPI's latest published figure at one place, as the place page shows them."""
    kpis = public_kpis()
    return _download_rows(_place_frame(place, kpis), kpis)


def headline_download(*, kpi_ids) -> list[dict]:
    """The headline figures of these KPIs (latest, at SET), as the page listing them shows."""
    kpis = public_kpis()
    frame = published_frame(kpi_ids=kpi_ids, latest_only=True)
    return _download_rows(_headline_rows(frame, kpis), kpis)
