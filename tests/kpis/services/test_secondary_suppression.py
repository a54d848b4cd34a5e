"""Publishing a release applies secondary suppression over the place lattice: a small count
cannot be worked out from the totals published beside it. Internal assessments are not
touched: they are for the group."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from kpis.disclosure import SECONDARY_REASON
from kpis.models import Assessment, Kpi, Release
from kpis.periods import parse_period
from kpis.selectors.places import place_lattice
from kpis.services.observations import (
    ObservationValues,
    observation_record,
    period_get_or_create,
    series_get_or_create,
)
from kpis.services.progress import progress_recompute
from kpis.services.releases import release_publish
from strategy.access import Role
from strategy.models import Place
from strategy.services import user_create

START = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def sig(strategy_data):
    return user_create(
        username="publisher", password="correct horse battery staple", roles=[Role.SIG_MEMBER]
    )


@pytest.fixture
def ips_access(catalogue_data):
    """People starting IPS: a year-to-date count where people live, under NHS England's rule
    (counts under 5 suppressed)."""
    kpi = Kpi.objects.get(code="IPS-ACCESS")
    assert (kpi.statistic, kpi.geography_basis) == ("count", "resident")
    assert kpi.disclosure_rule.min_count == 5
    return kpi


def record_count(kpi, place: str, label: str, count: int):
    series = series_get_or_create(kpi=kpi, place=Place.objects.get(code=place))
    observation_record(
        series=series,
        period=period_get_or_create(parse_period(label)),
        values=ObservationValues(numerator=Decimal(count), value=Decimal(count)),
        approved=True,
    )
    return series


def test_the_lattice_is_plain_data_from_one_query(strategy_data, django_assert_num_queries):
    with django_assert_num_queries(1):
        lattice = place_lattice()
    basis, areas = lattice["set"]
    assert basis == "resident" and len(areas) == 14
    assert lattice["essex"][1] | lattice["southend"][1] | lattice["thurrock"][1] == areas
    assert "england" not in lattice  # built from no SET areas: in no relation


def test_a_second_council_is_suppressed_in_public_when_thurrock_is_small(ips_access, sig):
    counts = {"set": 120, "essex": 100, "southend": 17, "thurrock": 3}
    series = {place: record_count(ips_access, place, "Apr 2024", n) for place, n in counts.items()}
    release = Release.objects.create(
        title="July", scheduled_for=START, announced_at=START - timedelta(days=28)
    )
    assert release_publish(release=release, user=sig, now=START) == 4

    published = {
        a.series.place.code: a
        for a in Assessment.published.filter(release=release).select_related("series__place")
    }
    assert published["thurrock"].public_suppressed
    assert published["thurrock"].suppression_reason == "fewer than 5"
    # SET - Essex - Southend would give Thurrock's 3 away: Southend, the smaller, goes too.
    assert published["southend"].public_suppressed
    assert published["southend"].suppression_reason == SECONDARY_REASON
    assert not published["essex"].public_suppressed
    assert not published["set"].public_suppressed

    # The group's internal assessments carry only each value's own suppression.
    progress_recompute(series_ids=[s.pk for s in series.values()], as_of=date(2024, 7, 1))
    internal = {
        a.series.place.code: a
        for a in Assessment.objects.filter(scope=Assessment.Scope.INTERNAL).select_related(
            "series__place"
        )
    }
    assert internal["thurrock"].public_suppressed
    assert not internal["southend"].public_suppressed
    assert internal["southend"].suppression_reason == ""
