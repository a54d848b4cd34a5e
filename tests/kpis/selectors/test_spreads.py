"""Reads of the spreads national publications give, for the place and KPI pages' spine charts."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from kpis.models import AreaSpread
from kpis.selectors.spreads import SpreadRow, area_spreads_for_kpi, area_spreads_for_place
from tests.kpis.factories import KpiFactory, NationalPublicationFactory, PeriodFactory
from tests.strategy.factories import PlaceFactory

pytestmark = pytest.mark.django_db


def spread(publication, kpi, period, places, *, q25, area_type="Counties & UAs", areas=150):
    """A stored spread, its other figures made from its 25th percentile."""
    made = AreaSpread.objects.create(
        publication=publication,
        kpi=kpi,
        period=period,
        area_type=area_type,
        areas=areas,
        lowest=q25 / 2,
        q25=q25,
        median=q25 * 1.25,
        q75=q25 * 1.5,
        highest=q25 * 2,
        england=q25 + 1,
    )
    made.places.set(places)
    return made


@pytest.fixture
def setting():
    """Two places, two KPIs and two periods; an older and a newer Fingertips download."""
    now = timezone.now()
    return {
        "southend": PlaceFactory(),
        "thurrock": PlaceFactory(),
        "suicide": KpiFactory(),
        "self_harm": KpiFactory(),
        "earlier": PeriodFactory(label="2018 to 2020"),
        "later": PeriodFactory(label="2019 to 2021"),
        "older": NationalPublicationFactory(
            original_name="indicators-2023.csv",
            release_date=date(2023, 5, 2),
            imported_at=now - timedelta(days=300),
        ),
        "newer": NationalPublicationFactory(
            original_name="indicators-2024.csv",
            release_date=date(2024, 5, 7),
            imported_at=now - timedelta(days=10),
        ),
        "newest": NationalPublicationFactory(original_name="regions.csv", imported_at=now),
    }


def test_a_place_gets_the_newest_spread_of_each_kpi_and_period_in_one_query(
    setting, django_assert_num_queries
):
    s = setting
    spread(s["older"], s["suicide"], s["later"], [s["southend"], s["thurrock"]], q25=9.0)
    newer = spread(s["newer"], s["suicide"], s["later"], [s["southend"], s["thurrock"]], q25=9.5)
    spread(s["older"], s["suicide"], s["earlier"], [s["southend"]], q25=8.8)
    spread(s["newer"], s["self_harm"], s["later"], [s["southend"]], q25=140.0)
    # The newest file is over regions, which Southend is not among: not Southend's spread.
    spread(s["newest"], s["suicide"], s["later"], [], q25=10.0, area_type="Regions", areas=9)

    with django_assert_num_queries(1):
        found = area_spreads_for_place(place_id=s["southend"].pk)

    assert {key: row.q25 for key, row in found.items()} == {
        (s["suicide"].pk, s["later"].pk): 9.5,
        (s["suicide"].pk, s["earlier"].pk): 8.8,
        (s["self_harm"].pk, s["later"].pk): 140.0,
    }
    assert found[(s["suicide"].pk, s["later"].pk)] == SpreadRow(
        kpi_id=s["suicide"].pk,
        period_id=s["later"].pk,
        area_type="Counties & UAs",
        areas=150,
        lowest=4.75,
        q25=9.5,
        median=11.875,
        q75=14.25,
        highest=19.0,
        england=10.5,
        publication_id=newer.publication_id,
        publisher="fingertips",
        publication_name="indicators-2024.csv",
        release_date=date(2024, 5, 7),
        imported_at=s["newer"].imported_at,
    )


def test_a_place_page_can_ask_for_some_kpis_only(setting, django_assert_num_queries):
    s = setting
    spread(s["newer"], s["suicide"], s["later"], [s["southend"]], q25=9.35)
    spread(s["newer"], s["self_harm"], s["later"], [s["southend"]], q25=140.0)
    with django_assert_num_queries(1):
        found = area_spreads_for_place(place_id=s["southend"].pk, kpi_ids=[s["self_harm"].pk])
    assert list(found) == [(s["self_harm"].pk, s["later"].pk)]
    assert area_spreads_for_place(place_id=s["thurrock"].pk) == {}


def test_a_kpi_gets_each_places_newest_spread_in_one_query(setting, django_assert_num_queries):
    s = setting
    spread(s["older"], s["suicide"], s["later"], [s["southend"], s["thurrock"]], q25=9.0)
    spread(s["newer"], s["suicide"], s["later"], [s["thurrock"]], q25=9.35)
    spread(s["newer"], s["self_harm"], s["later"], [s["southend"]], q25=140.0)
    with django_assert_num_queries(1):
        found = area_spreads_for_kpi(kpi_id=s["suicide"].pk)
    assert {key: (row.q25, row.publication_name) for key, row in found.items()} == {
        (s["southend"].pk, s["later"].pk): (9.0, "indicators-2023.csv"),
        (s["thurrock"].pk, s["later"].pk): (9.35, "indicators-2024.csv"),
    }
