"""A KPI with figures at SET, the three councils and England, for the dashboard pages' tests."""

import json
import re

from kpis.models import Assessment
from strategy.models import Place
from tests.kpis.factories import (
    AssessmentFactory,
    KpiFactory,
    PeriodFactory,
    ReleaseFactory,
    SeriesFactory,
)

QUARTERS = ["2023-24 Q1", "2023-24 Q2", "2023-24 Q3", "2023-24 Q4"]


def figures_on(page: str) -> dict[str, dict]:
    """The chart figures the page hands to plotly.js, by their data block's id."""
    return {
        key: json.loads(body)
        for key, body in re.findall(
            r'<script id="(figure-[a-z]+)" type="application/json">(.*?)</script>', page, re.S
        )
    }


def _series(kpi, place, values, *, scope=Assessment.Scope.INTERNAL, release=None, **fields):
    series = SeriesFactory(kpi=kpi, place=place)
    if release is not None:
        series.published_release = release
        series.save()
    for label, value in zip(QUARTERS, values, strict=False):
        AssessmentFactory(
            series=series,
            period=PeriodFactory(label=label),
            scope=scope,
            release=release,
            value=value,
            numerator=value,
            denominator=100.0,
            lower95=value - 5,
            upper95=value + 5,
            is_latest=label == QUARTERS[len(values) - 1],
            **fields,
        )
    return series


def kpi_at_councils():
    """Quarterly values 2023-24 at SET (50-56), Southend (40-46, not approved), Thurrock
    (60-63), Essex (51-54) and England (77.7 internal; 55.5 as published)."""
    kpi = KpiFactory(code="DASH-1", title="Seen within four weeks")
    places = {
        p.code: p
        for p in Place.objects.filter(code__in=["set", "southend", "thurrock", "essex", "england"])
    }
    _series(kpi, places["set"], [50.0, 52.0, 54.0, 56.0])
    _series(kpi, places["southend"], [40.0, 42.0, 44.0, 46.0], value_status="unapproved")
    _series(kpi, places["thurrock"], [60.0, 61.0, 62.0, 63.0])
    _series(kpi, places["essex"], [51.0, 52.0, 53.0, 54.0])
    england = _series(kpi, places["england"], [77.7, 77.7, 77.7, 77.7])
    release = ReleaseFactory()
    for label in QUARTERS:
        AssessmentFactory(
            series=england,
            period=PeriodFactory(label=label),
            scope=Assessment.Scope.PUBLISHED,
            release=release,
            value=55.5,
            value_status="published",
        )
    england.published_release = release
    england.save()
    return kpi
