"""Reads of the KPI catalogue shaped for the assessment engine (``kpis.assessment``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.models import GeographyBasis, Place

from ..disclosure import Rule as DisclosureRuleSpec
from ..models import DefinitionVersion, Kpi, Target

# The SET total on each basis: the place the rest-of-SET benchmark is taken from.
SET_TOTALS = {GeographyBasis.RESIDENT: "set", GeographyBasis.GP_REGISTERED: "set-registered"}
PRIMARY_TARGET_KINDS = ("threshold", "value_by_date", "trajectory")


def kpi_frame(*, kpi_ids) -> pd.DataFrame:
    """The KPIs' definitions as the assessment engine reads them, one row per KPI code."""
    kpis = Kpi.objects.filter(id__in=kpi_ids).select_related("disclosure_rule")
    breaks: dict[int, list] = {}
    for kpi_id, applies_from in DefinitionVersion.objects.filter(
        kpi_id__in=kpi_ids, series_break=True, applies_from__isnull=False
    ).values_list("kpi_id", "applies_from"):
        breaks.setdefault(kpi_id, []).append(applies_from)
    targets: dict[int, Target] = {}
    for target in Target.objects.filter(
        kpi_id__in=kpi_ids, kind__in=PRIMARY_TARGET_KINDS, place__isnull=True, value__isnull=False
    ).order_by("kind", "-applies_from"):
        targets.setdefault(target.kpi_id, target)
    rows = []
    for kpi in kpis:
        target = targets.get(kpi.pk)
        rows.append(
            {
                "code": kpi.code,
                "statistic": kpi.statistic,
                "multiplier": float(kpi.multiplier),
                "direction": kpi.direction,
                "time_structure": kpi.time_structure,
                "baseline_rule": kpi.baseline_rule,
                "baseline_label": kpi.baseline_period_label,
                "breaks": breaks.get(kpi.pk, []),
                "target_kind": target.kind if target else None,
                "target_value": float(target.value) if target else np.nan,
                "target_applies_from": target.applies_from if target else None,
                "target_due": target.due if target else None,
                "lag_days": kpi.publication_lag_days,
                "rule": DisclosureRuleSpec.from_model(kpi.disclosure_rule),
            }
        )
    return pd.DataFrame.from_records(rows).set_index("code")


def place_frame() -> pd.DataFrame:
    """Each place's SET total on its basis (the rest-of-SET benchmark) and validity."""
    rows = []
    for code, basis, within_set, valid_to in Place.objects.values_list(
        "code", "geography_basis", "within_set", "valid_to"
    ):
        total = SET_TOTALS.get(basis) if within_set else None
        rows.append({"code": code, "total": total, "is_total": code == total, "valid_to": valid_to})
    return pd.DataFrame.from_records(rows).set_index("code")
