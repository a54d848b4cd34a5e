"""The board view: every KPI's latest internal assessment at each of SET's reporting places.

A KPI reported on another geography basis (GP-registered, police force area) has no series at
a resident place; its column shows the place of the KPI's basis with exactly the same areas,
valid at the KPI's latest period, or says it is not reported for this area. Never a value of
a different footprint.

Each value cell carries the current commentary on its KPI, place and period when the viewer
may read it, and says whether the viewer may write one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import pandas as pd
from django.db.models import Prefetch

from strategy.models import Place, PlaceMembership, Priority

from ..board import Cell, empty_cell, value_cell
from ..models import Assessment, Breakdown, Kpi
from .commentary import commentary_current

#: The board's columns, in order: SET, the three councils, the six alliances.
BOARD_COLUMNS = (
    "set",
    "southend",
    "thurrock",
    "essex",
    "alliance-thurrock",
    "alliance-south-east-essex",
    "alliance-basildon-brentwood",
    "alliance-mid-essex",
    "alliance-west-essex",
    "alliance-north-east-essex",
)

SORTS = ("group", "code", "title")

_CELL_FIELDS = (
    "series__kpi_id",
    "series__place_id",
    "series__place__code",
    "series__place__name",
    "period_id",
    "period__label",
    "period__end",
    "value",
    "lower95",
    "upper95",
    "baseline_label",
    "change_category",
    "change_reason",
    "spc_point_type",
    "spc_reason",
    "assurance",
    "benchmark_england",
    "benchmark_england_by_source",
    "verdict",
    "verdict_reason",
    "value_status",
)


@dataclass(frozen=True)
class Candidate:
    """A place whose areas are exactly a column place's areas, on one geography basis."""

    place_id: int
    code: str
    basis: str
    valid_from: date | None
    valid_to: date | None
    rank: int

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class Column:
    code: str
    name: str
    place_id: int


@dataclass
class BoardRow:
    kpi: Kpi
    outcomes: list[str]
    themes: list[str]
    cells: list[Cell] = field(default_factory=list)
    #: The outcome, theme and cohort the row sorts under, in words (its first by position).
    group: str = ""


@dataclass
class BoardSection:
    """Rows under one heading; the heading is empty when the board is not grouped."""

    heading: str
    rows: list[BoardRow]


@dataclass
class Board:
    columns: list[Column]
    rows: list[BoardRow]
    grouped: bool = False

    @property
    def sections(self) -> list[BoardSection]:
        """The rows cut where their group changes (one unheaded section when not grouped)."""
        if not self.grouped:
            return [BoardSection(heading="", rows=self.rows)] if self.rows else []
        sections: list[BoardSection] = []
        for row in self.rows:
            if not sections or sections[-1].heading != row.group:
                sections.append(BoardSection(heading=row.group, rows=[]))
            sections[-1].rows.append(row)
        return sections

    def export_rows(self) -> list[dict]:
        """One row per KPI and column place, for CSV and XLSX."""
        names = {column.code: column.name for column in self.columns}
        return [
            {
                "kpi_code": row.kpi.code,
                "kpi_title": row.kpi.title,
                "cohort": row.kpi.get_cohort_display(),
                "outcomes": "; ".join(row.outcomes),
                "themes": "; ".join(row.themes),
                "place": names[cell.column],
                **cell.as_row(),
            }
            for row in self.rows
            for cell in row.cells
        ]


EXPORT_COLUMNS = [
    "kpi_code",
    "kpi_title",
    "cohort",
    "outcomes",
    "themes",
    "place",
    "column",
    "state",
    "reason",
    "source_place",
    "source_place_name",
    "period",
    "value",
    "interval",
    "change",
    "spc",
    "assurance",
    "benchmark",
    "verdict",
    "verdict_label",
    "verdict_reason",
    "unpublished",
    "stale",
    "commentary",
]


def board_place_map(*, column_codes) -> tuple[list[Column], dict[str, list[Candidate]]]:
    """The column places, and for each the places with exactly its areas, in two queries:
    the column place itself first, then in place order (position, name)."""
    areas: dict[int, frozenset] = defaultdict(frozenset)
    for place_id, area_ids in (
        pd.DataFrame(
            list(PlaceMembership.objects.values_list("place_id", "area_id")),
            columns=["place", "area"],
        )
        .groupby("place")["area"]
        .agg(frozenset)
        .items()
    ):
        areas[place_id] = area_ids
    places = list(
        Place.objects.values(
            "id", "code", "name", "geography_basis", "valid_from", "valid_to"
        ).order_by("position", "name")
    )
    by_code = {p["code"]: p for p in places}
    columns = [
        Column(code=code, name=by_code[code]["name"], place_id=by_code[code]["id"])
        for code in column_codes
        if code in by_code
    ]
    by_footprint: dict[frozenset, list[Candidate]] = defaultdict(list)
    for rank, p in enumerate(places):
        if areas[p["id"]]:
            by_footprint[areas[p["id"]]].append(
                Candidate(
                    p["id"], p["code"], p["geography_basis"], p["valid_from"], p["valid_to"], rank
                )
            )
    # The column place itself comes first: Thurrock alliance's own series before Thurrock's.
    return columns, {
        c.code: sorted(by_footprint[areas[c.place_id]], key=lambda x: x.place_id != c.place_id)
        for c in columns
    }


def equivalent_places(candidates: list[Candidate], *, basis: str, on: date | None) -> list:
    """The candidates on this basis valid on the day (any validity when no day is known)."""
    return [c for c in candidates if c.basis == basis and (on is None or c.valid_on(on))]


def board_kpis(*, outcome: str = "", theme: str = "", cohort: str = ""):
    """The KPIs the board shows, with outcomes and priorities' themes prefetched."""
    kpis = Kpi.objects.all()
    if outcome:
        kpis = kpis.filter(outcomes__code=outcome)
    if theme:
        kpis = kpis.filter(priorities__theme__code=theme)
    if cohort:
        kpis = kpis.filter(cohort=cohort)
    return kpis.distinct().prefetch_related(
        "outcomes", Prefetch("priorities", queryset=Priority.objects.select_related("theme"))
    )


def _latest_cells(kpis, place_ids) -> pd.DataFrame:
    """Every latest internal assessment of the totals of these KPIs at these places: one
    query."""
    rows = Assessment.objects.filter(
        scope=Assessment.Scope.INTERNAL,
        is_latest=True,
        series__breakdown__dimension=Breakdown.Dimension.ALL,
        series__place_id__in=place_ids,
        series__kpi__in=kpis.values("pk"),
    ).values(*_CELL_FIELDS)
    return pd.DataFrame(list(rows), columns=list(_CELL_FIELDS))


def _group_key(row: BoardRow):
    outcomes = [o.position for o in row.kpi.outcomes.all()] or [10_000]
    themes = [p.theme.position for p in row.kpi.priorities.all()] or [10_000]
    return (min(outcomes), min(themes), row.kpi.cohort, row.kpi.code)


def _group_heading(kpi: Kpi) -> str:
    """The outcome, theme and cohort a KPI sorts under (``_group_key``), in words."""
    outcome = min(kpi.outcomes.all(), key=lambda o: o.position, default=None)
    theme = min((p.theme for p in kpi.priorities.all()), key=lambda t: t.position, default=None)
    return " · ".join(
        (
            f"Outcome {outcome.code}: {outcome.text}" if outcome else "No outcome",
            f"Theme: {theme.name}" if theme else "No theme",
            f"Cohort: {kpi.get_cohort_display()}",
        )
    )


#: Whether a viewer may read (or write) commentary on a KPI at a place (given by its id).
CommentaryCheck = Callable[[Kpi, int], bool]


def _with_commentary(
    cell: Cell,
    *,
    kpi: Kpi,
    record: dict,
    current: dict,
    may_read: CommentaryCheck,
    may_write: CommentaryCheck | None,
) -> Cell:
    """The cell with the current commentary on the value it shows, if the viewer may read it."""
    place_id = int(record["series__place_id"])
    if not may_read(kpi, place_id):
        return cell
    writable = bool(may_write and may_write(kpi, place_id))
    note = current.get((kpi.pk, place_id, record["period_id"]))
    if note is None:
        return replace(cell, may_write_commentary=writable)
    return replace(
        cell,
        commentary=note.text,
        commentary_author=note.author.get_full_name() or note.author.get_username(),
        commentary_at=note.recorded_at,
        may_write_commentary=writable,
    )


def board(
    *,
    column_codes,
    today: date,
    outcome: str = "",
    theme: str = "",
    cohort: str = "",
    verdict: str = "",
    sort: str = "group",
    may_read_commentary: CommentaryCheck | None = None,
    may_write_commentary: CommentaryCheck | None = None,
) -> Board:
    """The summary table for these columns, filtered and sorted; a constant number of queries.

    1. Map each column to its equal-footprint places (two queries).
    2. Read the KPIs (three queries) and every latest total assessment at those places (one).
    3. Per KPI, its latest period is the latest end among its assessments at places of its
       own basis; each column shows the first equal-footprint place of that basis valid then
       (none: "Not reported for this area"; no assessment there: "No value for this area yet").
    4. A verdict filter keeps the KPIs with that verdict in at least one column shown.
    5. Given who may read commentary, the current commentary at every place shown (one more
       query) goes into each value cell the viewer may read it for.
    """
    columns, mapping = board_place_map(column_codes=column_codes)
    kpis = board_kpis(outcome=outcome, theme=theme, cohort=cohort)
    place_ids = {c.place_id for candidates in mapping.values() for c in candidates}
    frame = _latest_cells(kpis, place_ids)
    kpi_list = list(kpis)
    basis = {k.pk: k.geography_basis for k in kpi_list}
    places = {c.place_id: c for candidates in mapping.values() for c in candidates}
    frame = frame[
        frame["series__place_id"].map(lambda pk: places[pk].basis).to_numpy()
        == frame["series__kpi_id"].map(basis).to_numpy()
    ]
    latest_end = frame.groupby("series__kpi_id")["period__end"].max().to_dict()
    records = {(r["series__kpi_id"], r["series__place_id"]): r for r in frame.to_dict("records")}
    current = (
        commentary_current(kpi_ids=[k.pk for k in kpi_list], place_ids=place_ids)
        if may_read_commentary
        else {}
    )
    rows = []
    for kpi in kpi_list:
        facts = {
            "unit": kpi.unit,
            "direction": kpi.direction,
            "frequency": kpi.frequency,
            "publication_lag_days": kpi.publication_lag_days,
        }
        row = BoardRow(
            kpi=kpi,
            outcomes=[o.code for o in kpi.outcomes.all()],
            themes=sorted({p.theme.name for p in kpi.priorities.all()}),
            group=_group_heading(kpi),
        )
        for column in columns:
            valid = equivalent_places(
                mapping[column.code], basis=kpi.geography_basis, on=latest_end.get(kpi.pk)
            )
            found = [records[kpi.pk, c.place_id] for c in valid if (kpi.pk, c.place_id) in records]
            if found:
                cell = value_cell(column.code, found[0], kpi=facts, today=today)
                if may_read_commentary:
                    cell = _with_commentary(
                        cell,
                        kpi=kpi,
                        record=found[0],
                        current=current,
                        may_read=may_read_commentary,
                        may_write=may_write_commentary,
                    )
                row.cells.append(cell)
            else:
                row.cells.append(empty_cell(column.code, "no_value" if valid else "not_reported"))
        if not verdict or any(cell.verdict == verdict for cell in row.cells):
            rows.append(row)
    if sort == "title":
        rows.sort(key=lambda r: r.kpi.title.casefold())
    elif sort == "code":
        rows.sort(key=lambda r: r.kpi.code)
    else:
        rows.sort(key=_group_key)
    return Board(columns=columns, rows=rows, grouped=sort not in ("title", "code"))
