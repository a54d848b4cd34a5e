"""Reads of the stored assessments for the internal side (every current value, approved or not,
marked as such). The public side reads ``selectors.public`` instead."""

from __future__ import annotations

from ..models import Assessment


def latest_values(*, place_codes) -> dict[tuple[str, str, str], tuple]:
    """Each series' latest value and process limits, for "far from before" warnings."""
    latest = Assessment.objects.filter(
        scope=Assessment.Scope.INTERNAL, is_latest=True, series__place__code__in=place_codes
    ).values_list(
        "series__kpi__code",
        "series__place__code",
        "series__breakdown__dimension",
        "series__breakdown__category",
        "value",
        "spc_lower_limit",
        "spc_upper_limit",
    )
    return {
        (kpi, place, "all" if dimension == "all" else f"{dimension}:{category}"): (v, low, high)
        for kpi, place, dimension, category, v, low, high in latest
    }
