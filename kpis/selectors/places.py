"""Places as the pure modules see them: each place's code, kind, basis, areas and validity."""

from __future__ import annotations

from collections import defaultdict

from strategy.models import Place, PlaceMembership

from ..combine import PlaceInfo


def place_infos() -> list[PlaceInfo]:
    """Every place with the GSS codes of its areas, in two queries."""
    areas: dict[int, set[str]] = defaultdict(set)
    for place_id, gss in PlaceMembership.objects.values_list("place_id", "area__gss_code"):
        areas[place_id].add(gss)
    return [
        PlaceInfo(
            code=place.code,
            kind=place.kind,
            basis=place.geography_basis,
            areas=frozenset(areas[place.pk]),
            valid_from=place.valid_from,
            valid_to=place.valid_to,
        )
        for place in Place.objects.all()
    ]


def place_lattice() -> dict[str, tuple[str, frozenset[str]]]:
    """Each place with areas: its geography basis and the GSS codes of its areas, one query."""
    areas: dict[str, set[str]] = defaultdict(set)
    basis: dict[str, str] = {}
    for code, geography_basis, gss in PlaceMembership.objects.values_list(
        "place__code", "place__geography_basis", "area__gss_code"
    ):
        areas[code].add(gss)
        basis[code] = geography_basis
    return {code: (basis[code], frozenset(ids)) for code, ids in areas.items()}
