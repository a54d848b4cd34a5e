"""Reads of commentary: who may read it, the current post per KPI, place and period, and
history.

Commentary sits beside unpublished figures, so it is read by those who may see the place's
unpublished values and by the people of the KPI's owner organisation.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from strategy.access import Action, user_can
from strategy.models import Place

from ..models import Commentary, Kpi, Period

READ_REFUSAL = (
    "Commentary sits beside unpublished figures: it is read by the Strategy Implementation "
    "Group, the place's lead and the KPI's owner organisation."
)


def is_kpi_owner(user, kpi: Kpi) -> bool:
    """Whether the user belongs to the organisation that owns the KPI."""
    return (
        getattr(user, "is_authenticated", False)
        and kpi.owner_id is not None
        and user.organisation_id == kpi.owner_id
    )


def commentary_may_read(user, kpi: Kpi, place: Place | int) -> bool:
    """Those who see the place's unpublished values, and the KPI's owner organisation."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_kpi_owner(user, kpi) or user_can(user, Action.SEE_UNPUBLISHED, place)


def commentary_subject(*, kpi_code: str, place_code: str, period_label: str):
    """The KPI, place and period a commentary is on, by their codes and label (three
    queries); raises the model's DoesNotExist for any that is missing."""
    return (
        Kpi.objects.get(code=kpi_code),
        Place.objects.get(code=place_code),
        Period.objects.get(label=period_label),
    )


def commentary_current(
    *, kpi_ids: Iterable[int], place_ids: Iterable[int]
) -> dict[tuple[int, int, int], Commentary]:
    """The latest post per (kpi_id, place_id, period_id) of these KPIs at these places, with
    its author: one query.

    Numbering each key's posts newest first and keeping number 1 is portable (Django wraps
    the windowed query in a subquery to filter it, on PostgreSQL and SQLite alike).
    """
    latest = (
        Commentary.objects.filter(kpi_id__in=list(kpi_ids), place_id__in=list(place_ids))
        .annotate(
            newest=Window(
                RowNumber(),
                partition_by=[F("kpi_id"), F("place_id"), F("period_id")],
                order_by=[F("recorded_at").desc(), F("pk").desc()],
            )
        )
        .filter(newest=1)
        .select_related("author")
    )
    return {(c.kpi_id, c.place_id, c.period_id): c for c in latest}


def commentary_for_kpi(*, kpi: Kpi, place_ids: Iterable[int]) -> list[Commentary]:
    """Every post on the KPI at these places, history included, newest first, with place,
    period and author: one query."""
    return list(
        Commentary.objects.filter(kpi=kpi, place_id__in=list(place_ids))
        .select_related("place", "period", "author")
        .order_by("-recorded_at", "-pk")
    )


def commentary_history(*, kpi: Kpi, place: Place, period: Period) -> list[Commentary]:
    """Every post on the KPI at the place for the period, newest (the current one) first,
    with its author: one query."""
    return list(
        Commentary.objects.filter(kpi=kpi, place=place, period=period)
        .select_related("author")
        .order_by("-recorded_at", "-pk")
    )
