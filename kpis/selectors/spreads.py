"""Reads of the spreads national publications give over every area of a type, for spine charts:
each in one query, as plain rows.

Where several publications give a spread for the same KPI and period, the one imported most
recently wins (a later file corrects or extends an earlier one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ..models import AreaSpread

#: The fields read for each spread, by the names SpreadRow gives them.
_FIELDS = {
    "kpi_id": "kpi_id",
    "period_id": "period_id",
    "area_type": "area_type",
    "areas": "areas",
    "lowest": "lowest",
    "q25": "q25",
    "median": "median",
    "q75": "q75",
    "highest": "highest",
    "england": "england",
    "publication_id": "publication_id",
    "publisher": "publication__publisher",
    "publication_name": "publication__original_name",
    "release_date": "publication__release_date",
    "imported_at": "publication__imported_at",
}
#: Newest import first; then the spread over more areas, should a place be in two area types.
_NEWEST_FIRST = ("-publication__imported_at", "-publication_id", "-areas", "area_type")


@dataclass(frozen=True)
class SpreadRow:
    """One KPI's spread in one period over the areas of one type, as a publication gives it.

    ``lowest`` and ``highest`` are values, not judgements: which is worst depends on the KPI's
    direction. ``england`` is None where the publication gives no England value.
    """

    kpi_id: int
    period_id: int
    area_type: str
    areas: int
    lowest: float
    q25: float
    median: float
    q75: float
    highest: float
    england: float | None
    publication_id: int
    publisher: str
    publication_name: str
    release_date: date | None
    imported_at: datetime


def area_spreads_for_place(
    *, place_id: int, kpi_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], SpreadRow]:
    """Each KPI's and period's spread over the areas of the place's type, by (kpi_id,
    period_id), from the newest publication whose areas include the place; one query."""
    filters: dict = {"place_id": place_id}
    if kpi_ids is not None:
        filters["areaspread__kpi_id__in"] = list(kpi_ids)
    return {
        (kpi, period): spread for (_, kpi, period), spread in _spreads_by_place(filters).items()
    }


def area_spreads_for_kpi(*, kpi_id: int) -> dict[tuple[int, int], SpreadRow]:
    """For one KPI, each place's spread in each period, by (place_id, period_id), from the
    newest publication whose areas include the place; one query."""
    return {
        (place_id, period_id): spread
        for (place_id, _, period_id), spread in _spreads_by_place(
            {"areaspread__kpi_id": kpi_id}
        ).items()
    }


def area_spreads_for_places(*, place_ids) -> dict[tuple[int, int, int], SpreadRow]:
    """Each of these places' spreads, by (place_id, kpi_id, period_id), from the newest
    publication whose areas include the place; one query."""
    return _spreads_by_place({"place_id__in": list(place_ids)})


def _spreads_by_place(filters: dict) -> dict[tuple[int, int, int], SpreadRow]:
    through = AreaSpread.places.through
    fields = {name: f"areaspread__{path}" for name, path in _FIELDS.items()}
    rows = (
        through.objects.filter(**filters)
        .order_by(*_newest_first("areaspread__"))
        .values("place_id", *fields.values())
    )
    found: dict[tuple[int, int, int], SpreadRow] = {}
    for row in rows:
        spread = _spread_row({path: row[fields[name]] for name, path in _FIELDS.items()})
        found.setdefault((row["place_id"], spread.kpi_id, spread.period_id), spread)
    return found


def _newest_first(prefix: str = "") -> list[str]:
    """_NEWEST_FIRST for a query that reaches the spreads through ``prefix``."""
    return [
        f"-{prefix}{key[1:]}" if key.startswith("-") else f"{prefix}{key}" for key in _NEWEST_FIRST
    ]


def _spread_row(row: dict) -> SpreadRow:
    return SpreadRow(**{name: row[path] for name, path in _FIELDS.items()})
