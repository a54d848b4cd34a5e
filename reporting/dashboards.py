"""The internal KPI and place pages, composed: who sees which places, their frames and charts.

Places a viewer may see unpublished values of are read from the internal assessments (every
current value, marked); the comparators SET and England are shown to every viewer, as the public
reads them where the viewer may not see more. The group sees every place; a place lead sees
their places and the comparators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kpis.board import (
    ASSURANCE_LABELS,
    BENCHMARK_LABELS,
    SPC_LABELS,
    STATUS_LABELS,
    VERDICT_LABELS,
    VERDICT_TAGS,
    format_number,
    interval_text,
)
from kpis.dashboards import (
    ENGLAND,
    caterpillar_frame,
    equal_footprint_rows,
    funnel,
    latest_label,
    series_frame,
    spine_positions,
)
from kpis.models import Kpi, Target
from kpis.national.spreads import MIN_AREAS, value_spread
from kpis.selectors.board import board_place_map
from kpis.selectors.commentary import commentary_for_kpi, is_kpi_owner
from kpis.selectors.dashboards import (
    dashboard_assessments,
    dashboard_kpis,
    kpi_places,
    peer_places,
    place_ids,
)
from kpis.selectors.spreads import area_spreads_for_places
from kpis.services.commentary import commentary_may_write
from strategy.access import Action, places_for, user_can_everywhere
from strategy.models import Place

from . import charts
from .charts import FUNNEL_POINTS, SPC_POINTS


@dataclass
class Chart:
    """A figure and the table beneath it (rows of already-worded cells), or why there is
    none."""

    key: str
    title: str
    figure: dict | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    reason: str = ""
    summary: str = ""

    @property
    def figure_id(self) -> str:
        return f"figure-{self.key}"


@dataclass
class KpiPage:
    kpi: Kpi
    places: list[dict]
    #: The places with a value the viewer can read: those the trend can be drawn for.
    choices: list[dict]
    focus: dict | None
    period_label: str | None
    charts: list[Chart]
    targets: list[Target]
    commentary: list
    may_write_commentary: bool


def _whole_place(places: list[dict], basis: str) -> dict | None:
    return next(
        (p for p in places if p["kind"] == "system" and p["geography_basis"] == basis), None
    )


def _visible_places(user, kpi: Kpi) -> tuple[list[dict], set[int]]:
    """The KPI's places this viewer is shown, and those of them read unpublished."""
    places = kpi_places(kpi=kpi)
    if user_can_everywhere(user, Action.SEE_UNPUBLISHED):
        return places, {p["id"] for p in places}
    mine = set(places_for(user, Action.SEE_UNPUBLISHED).values_list("id", flat=True))
    whole = _whole_place(places, kpi.geography_basis)
    comparators = {ENGLAND} | ({whole["code"]} if whole else set())
    shown = [p for p in places if p["id"] in mine or p["code"] in comparators]
    return shown, mine & {p["id"] for p in shown}


def _value(row, unit: str) -> str:
    if pd.isna(row["value"]):
        return "Suppressed" if row["public_suppressed"] else "No value"
    return format_number(row["value"], unit)


def _status(row) -> str:
    return STATUS_LABELS.get(row["status"], "Published")


def _target_line(kpi: Kpi, place_id: int | None) -> tuple[float | None, str]:
    """The target or standard drawn on the charts: the place's own, else every place's."""
    usable = [
        t
        for t in kpi.targets.all()
        if t.value is not None
        and t.kind in (Target.Kind.THRESHOLD, Target.Kind.VALUE_BY_DATE, Target.Kind.TRAJECTORY)
        and (t.place_id is None or t.place_id == place_id)
    ]
    usable.sort(key=lambda t: t.place_id is None)
    if not usable:
        return None, ""
    target = usable[0]
    words = "Standard" if target.kind == Target.Kind.THRESHOLD else "Target"
    due = f" by {target.due:%-d %B %Y}" if target.due else ""
    comparator = target.get_comparator_display() if target.comparator else ""
    return float(target.value), f"{words}: {comparator} {float(target.value):g}{due}".replace(
        "  ", " "
    )


def _trend_chart(kpi: Kpi, frame: pd.DataFrame, place: dict, target) -> Chart:
    chart = Chart(
        key="trend",
        title=f"Trend at {place['name']}",
        columns=["Period", "Value", "95% interval", "Status", "Path to the target"],
    )
    if frame["value"].notna().sum() == 0:
        chart.reason = "No value to draw yet."
        return chart
    baseline = frame["baseline_label"].replace("", pd.NA).dropna()
    chart.figure = charts.trend_chart(
        frame,
        title=place["name"],
        unit=kpi.unit,
        baseline_label=baseline.iloc[-1] if len(baseline) else None,
        target_value=target[0],
        target_text=target[1],
    )
    chart.rows = [
        [
            row["label"] + (" (baseline)" if row["label"] in set(baseline) else ""),
            _value(row, kpi.unit),
            interval_text(row["lower95"], row["upper95"]),
            _status(row),
            format_number(row["planned"], kpi.unit),
        ]
        for row in frame.to_dict("records")
    ]
    chart.summary = (
        f"{place['name']}'s value for each period with its 95% confidence interval"
        + (f", the baseline {baseline.iloc[-1]}" if len(baseline) else "")
        + (f" and the {target[1].lower()}" if target[0] is not None else "")
        + "."
    )
    return chart


def _spc_chart(kpi: Kpi, frame: pd.DataFrame, place: dict, target) -> Chart:
    chart = Chart(
        key="spc",
        title=f"Statistical process control chart: {place['name']}",
        columns=["Period", "Value", "Mean", "Lower process limit", "Upper process limit", "Point"],
    )
    if frame["mean"].notna().sum() == 0:
        reasons = frame["spc_reason"].replace("", pd.NA).dropna()
        chart.reason = "No control chart: " + (
            reasons.iloc[-1] if len(reasons) else "it needs a run of comparable periods."
        )
        return chart
    chart.figure = charts.spc_chart(
        frame,
        title=place["name"],
        unit=kpi.unit,
        target_value=target[0],
        target_text=target[1],
    )
    chart.rows = [
        [
            row["label"],
            _value(row, kpi.unit),
            format_number(row["mean"], kpi.unit),
            format_number(row["lower_limit"], kpi.unit),
            format_number(row["upper_limit"], kpi.unit),
            SPC_POINTS.get(row["point_type"], ("",))[0],
        ]
        for row in frame.to_dict("records")
    ]
    latest = frame.dropna(subset=["mean"]).iloc[-1]
    chart.summary = (
        f"Latest variation: {SPC_LABELS.get(latest['point_type'], ('not assessed',))[0]}. "
        f"Assurance: {ASSURANCE_LABELS.get(latest['assurance'], ('not assessed',))[0]}. "
        "The mean and process limits step where the chart was rebased."
    )
    return chart


def _caterpillar_chart(kpi: Kpi, frame: pd.DataFrame, label: str, whole: dict | None) -> Chart:
    chart = Chart(
        key="caterpillar",
        title=f"Places compared, {label}",
        columns=["Place", "Value", "95% interval", "Status", "Compared with England"],
    )
    comparator_codes = {ENGLAND} | ({whole["code"]} if whole else set())
    points = caterpillar_frame(frame, label=label, exclude=comparator_codes)
    comparators = {
        row["place_name"]: float(row["value"])
        for row in caterpillar_frame(frame, label=label).to_dict("records")
        if row["place"] in comparator_codes
    }
    if points.empty:
        chart.reason = f"No place besides the comparators has a value for {label}."
        return chart
    chart.figure = charts.caterpillar_chart(
        points, title=label, unit=kpi.unit, comparators=comparators
    )
    chart.rows = [
        [
            row["place_name"],
            _value(row, kpi.unit),
            interval_text(row["lower95"], row["upper95"]),
            _status(row),
            BENCHMARK_LABELS.get(row["benchmark_england"], "Not compared"),
        ]
        for row in points.iloc[::-1].to_dict("records")
    ]
    chart.summary = "Each place's value with its 95% confidence interval, highest first" + (
        ", against " + " and ".join(comparators) + "." if comparators else "."
    )
    return chart


def _funnel_chart(kpi: Kpi, frame: pd.DataFrame, label: str, whole: dict | None) -> Chart:
    chart = Chart(
        key="funnel",
        title=f"Funnel plot, {label}",
        columns=["Place", "Numerator", "Denominator", "Value", "Against the funnel"],
    )
    if kpi.statistic != "proportion":
        chart.reason = "A funnel plot is drawn for proportions only."
        return chart
    if whole is None:
        chart.reason = "No whole-system figure to draw the funnel around."
        return chart
    result = funnel(
        frame,
        label=label,
        statistic=kpi.statistic,
        multiplier=float(kpi.multiplier or 1),
        whole_place=whole["code"],
    )
    if result.points is None:
        chart.reason = result.reason
        return chart
    chart.figure = charts.funnel_chart(
        result.points,
        result.limits,
        title=label,
        unit=kpi.unit,
        x_title="Denominator",
        average=result.average,
        average_name=whole["name"],
    )
    chart.rows = [
        [
            row["place_name"],
            f"{row['numerator']:,.0f}",
            f"{row['denominator']:,.0f}",
            format_number(row["value"], kpi.unit),
            FUNNEL_POINTS.get(row["significance"], ("Not assessed",))[0],
        ]
        for row in result.points.to_dict("records")
    ]
    chart.summary = (
        f"Each place's value against its denominator, with the 95% and 99.8% limits around "
        f"{whole['name']}'s {format_number(result.average, kpi.unit)}."
    )
    return chart


@dataclass
class CommentaryThread:
    """The current commentary on a place and period, and the posts it replaced."""

    current: object
    earlier: list = field(default_factory=list)


def _commentary_threads(posts: list) -> list[CommentaryThread]:
    """Posts (newest first) as one thread per place and period, newest thread first."""
    threads: dict[tuple[int, int], CommentaryThread] = {}
    for post in posts:
        key = (post.place_id, post.period_id)
        if key in threads:
            threads[key].earlier.append(post)
        else:
            threads[key] = CommentaryThread(current=post)
    return list(threads.values())


def kpi_page(*, user, kpi: Kpi, focus_code: str = "") -> KpiPage:
    """Everything the internal KPI page shows, in a fixed number of queries."""
    places, unpublished = _visible_places(user, kpi)
    ids = {p["id"] for p in places}
    frame = dashboard_assessments(
        kpi_ids=[kpi.pk], unpublished_place_ids=unpublished, published_place_ids=ids
    )
    with_values = set(frame.loc[frame["value"].notna(), "place"])
    whole = _whole_place(places, kpi.geography_basis)
    by_code = {p["code"]: p for p in places}
    focus = by_code.get(focus_code) if focus_code in with_values else None
    if focus is None:
        focus = next(
            (
                p
                for p in [whole, *places]
                if p and p["code"] in with_values and p["id"] in unpublished
            ),
            next((p for p in places if p["code"] in with_values), None),
        )
    period_type = kpi.period_type
    if (
        focus is not None
        and not (frame["place"].eq(focus["code"]) & frame["period_type"].eq(period_type)).any()
    ):
        period_type = frame.loc[frame["place"].eq(focus["code"]), "period_type"].mode().iloc[0]
    label = latest_label(frame, period_type=period_type, places=[p["code"] for p in places])
    built = []
    if focus is not None:
        target = _target_line(kpi, focus["id"])
        series = series_frame(frame, place=focus["code"], period_type=period_type)
        built += [_trend_chart(kpi, series, focus, target), _spc_chart(kpi, series, focus, target)]
    if label is not None:
        built += [
            _caterpillar_chart(kpi, frame, label, whole),
            _funnel_chart(kpi, frame, label, whole),
        ]
    readable = ids if is_kpi_owner(user, kpi) else unpublished
    return KpiPage(
        kpi=kpi,
        places=places,
        choices=[p for p in places if p["code"] in with_values],
        focus=focus,
        period_label=label,
        charts=built,
        targets=list(kpi.targets.all()),
        commentary=_commentary_threads(commentary_for_kpi(kpi=kpi, place_ids=readable)),
        may_write_commentary=focus is not None and commentary_may_write(user, kpi, focus["id"]),
    )


# The place page -----------------------------------------------------------------------------


@dataclass
class SpineRow:
    """One KPI's row of the place page, worded, with its spine-chart positions if drawn."""

    kpi: Kpi
    period: str
    value: str
    status: str
    england: str
    worst: str = ""
    q25: str = ""
    q75: str = ""
    best: str = ""
    spread_from: str = ""
    benchmark: str = ""
    verdict: str = ""
    verdict_tag: str = ""
    #: The equal-footprint place whose value this is, when not the page's own place.
    source_place: str = ""
    positions: dict | None = None


@dataclass
class PlacePage:
    place: Place
    rows: list[SpineRow]
    chart: Chart


def _spread_from_peers(
    peers: pd.DataFrame, *, kpi_id: int, period_id: int, kind_name: str
) -> tuple[dict | None, str]:
    """The spread of the SET places of the same kind, and the words saying so."""
    values = peers.loc[
        peers["kpi_id"].eq(kpi_id) & peers["period_id"].eq(period_id), "value"
    ].dropna()
    spread = value_spread(values)
    if spread is None:
        return None, f"Fewer than {MIN_AREAS} SET {kind_name} have a value"
    return spread, f"The {len(values)} SET {kind_name}"


def _ends(spread: dict, direction: str) -> tuple[float, float]:
    """Worst and best of a spread, by the KPI's direction (higher first when neither)."""
    if direction == "lower_is_better":
        return spread["highest"], spread["lowest"]
    return spread["lowest"], spread["highest"]


def place_page(*, user, place: Place) -> PlacePage:
    """Every KPI's latest value at one place, against England and the spread of comparable
    areas: a national publication's areas of the same type where an import holds them, else the
    SET places of the same kind. A fixed number of queries.

    A KPI reported on another geography basis shows the place with exactly this place's areas
    on its basis (West Essex alliance: the West Essex sub-ICB location), as the board does, and
    is compared with that place's peers.
    """
    kpis = dashboard_kpis()
    _, mapping = board_place_map(column_codes=[place.code])
    candidates = mapping.get(place.code) or []
    latest = dashboard_assessments(
        kpi_ids=list(kpis),
        unpublished_place_ids=[c.place_id for c in candidates] or [place.pk],
        latest_only=True,
    )
    if candidates:
        latest = equal_footprint_rows(
            latest, candidates, basis={pk: kpi.geography_basis for pk, kpi in kpis.items()}
        )
    sources = latest.drop_duplicates("place_id")
    peers = pd.DataFrame(
        peer_places(
            kinds_and_bases=set(zip(sources["place_kind"], sources["place_basis"], strict=True))
        ),
        columns=["id", "code", "name", "kind", "geography_basis"],
    )
    mine = set(places_for(user, Action.SEE_UNPUBLISHED).values_list("id", flat=True))
    england = set(place_ids(codes=[ENGLAND]).values())
    others = (set(peers["id"]) | england) - set(sources["place_id"])
    around = dashboard_assessments(
        kpi_ids=list(kpis),
        unpublished_place_ids=others & mine,
        published_place_ids=others,
        period_ids=set(latest["period_id"]),
    )
    spreads = area_spreads_for_places(place_ids=sources["place_id"].tolist())
    # Peers' figures at the same period, the source places' own (possibly unpublished) included.
    peer_rows = pd.concat([around, latest], ignore_index=True)
    england_rows = around[around["place"].eq(ENGLAND)]
    rows = []
    for record in latest.sort_values("kpi_id").to_dict("records"):
        kpi = kpis[record["kpi_id"]]
        unit = kpi.unit
        national = spreads.get((record["place_id"], record["kpi_id"], record["period_id"]))
        if national is not None:
            spread = {
                k: getattr(national, k) for k in ("lowest", "q25", "median", "q75", "highest")
            }
            source = f"The {national.areas} {national.area_type} in {national.publication_name}"
            england_value = national.england
        else:
            kind = record["place_kind"]
            same_kind = peers.loc[
                peers["kind"].eq(kind) & peers["geography_basis"].eq(kpi.geography_basis), "id"
            ]
            spread, source = _spread_from_peers(
                peer_rows[peer_rows["place_id"].isin(same_kind)],
                kpi_id=record["kpi_id"],
                period_id=record["period_id"],
                kind_name=Place.Kind(kind).label.lower() + "s",
            )
            match = england_rows[
                england_rows["kpi_id"].eq(record["kpi_id"])
                & england_rows["period_id"].eq(record["period_id"])
            ]["value"].dropna()
            england_value = float(match.iloc[0]) if len(match) else None
        row = SpineRow(
            kpi=kpi,
            period=record["label"],
            value=_value(record, unit),
            status=_status(record),
            england=format_number(england_value, unit) or "No value",
            spread_from=source,
            benchmark=BENCHMARK_LABELS.get(record["benchmark_england"], "Not compared"),
            verdict=VERDICT_LABELS.get(record["verdict"], record["verdict"]),
            verdict_tag=VERDICT_TAGS.get(record["verdict"], ""),
            source_place=record["place_name"] if record["place_id"] != place.pk else "",
        )
        if spread is not None:
            worst, best = _ends(spread, kpi.direction)
            row.worst, row.best = format_number(worst, unit), format_number(best, unit)
            row.q25, row.q75 = (
                format_number(spread["q25"], unit),
                format_number(spread["q75"], unit),
            )
            row.positions = spine_positions(
                value=None if pd.isna(record["value"]) else float(record["value"]),
                england=england_value,
                direction=kpi.direction,
                lowest=spread["lowest"],
                q25=spread["q25"],
                q75=spread["q75"],
                highest=spread["highest"],
            ) | {"benchmark": record["benchmark_england"], "has_england": england_value is not None}
        rows.append(row)
    return PlacePage(place=place, rows=rows, chart=_spine_chart(place, rows))


def _spine_chart(place: Place, rows: list[SpineRow]) -> Chart:
    chart = Chart(key="spine", title=f"{place.name} against England and comparable areas")
    drawn = [row for row in rows if row.positions is not None]
    if not drawn:
        chart.reason = "No KPI has a spread of comparable areas to draw against yet."
        return chart
    frame = pd.DataFrame(
        [{"label": f"{row.kpi.code} {row.kpi.title[:50]}", **row.positions} for row in drawn]
    )
    chart.figure = charts.spine_chart(frame, title=place.name)
    chart.summary = (
        f"For each of {len(drawn)} KPIs, {place.name}'s value as a marker against the spread of "
        "comparable areas (the whole bar from worst to best, the darker part the 25th to 75th "
        "percentile), better to the right. England, where it has a value, is at the centre; "
        "elsewhere the centre is the middle of the spread."
    )
    return chart
