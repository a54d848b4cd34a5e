"""Reads of commentary: who reads it, the current post per key, history, query counts."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from kpis.models import Commentary
from kpis.selectors.commentary import (
    commentary_current,
    commentary_for_kpi,
    commentary_history,
    commentary_may_read,
)
from strategy.access import Role
from strategy.models import Organisation, Place
from strategy.services import user_create
from tests.kpis.factories import KpiFactory, PeriodFactory


def _post(kpi, place, period, author, text, at):
    return Commentary.objects.create(
        kpi=kpi, place=place, period=period, author=author, text=text, recorded_at=at
    )


def _at(day, hour=9):
    return datetime(2025, 6, day, hour, tzinfo=UTC)


@pytest.fixture
def places(catalogue_data):
    return {p.code: p for p in Place.objects.filter(code__in=("southend", "thurrock", "essex"))}


def test_readers_are_those_who_see_the_places_unpublished_values_and_the_kpis_owner(
    make_user, sig, places
):
    council = Organisation.objects.get(code="SCC")
    kpi = KpiFactory(owner=council)
    lead = make_user("lead-reader", Role.PLACE_LEAD, places=("southend",))
    officer = user_create(username="officer", password="x" * 12, roles=[], organisation=council)
    analyst = make_user("analyst-reader", Role.ANALYST)
    southend, thurrock = places["southend"], places["thurrock"]
    assert commentary_may_read(lead, kpi, southend) and not commentary_may_read(lead, kpi, thurrock)
    assert commentary_may_read(officer, kpi, thurrock)
    assert not commentary_may_read(officer, KpiFactory(owner=None), thurrock)
    assert commentary_may_read(sig, kpi, thurrock)
    assert not commentary_may_read(analyst, kpi, southend)
    assert not commentary_may_read(AnonymousUser(), kpi, southend)


def test_current_is_the_latest_recorded_per_kpi_place_and_period(sig, places):
    kpi, other_kpi = KpiFactory(), KpiFactory()
    q1, q2 = PeriodFactory(label="2024-25 Q1"), PeriodFactory(label="2024-25 Q2")
    southend, thurrock, essex = places["southend"], places["thurrock"], places["essex"]
    later = _post(kpi, southend, q1, sig, "later", _at(3))
    # Made after, but recorded earlier (a back-dated import): not current.
    _post(kpi, southend, q1, sig, "earlier", _at(2))
    q2_note = _post(kpi, southend, q2, sig, "q2", _at(1))
    thurrock_note = _post(kpi, thurrock, q1, sig, "thurrock", _at(1))
    # Two posts at the same moment: the one saved last is current.
    _post(other_kpi, southend, q1, sig, "first of a tie", _at(5))
    tie_winner = _post(other_kpi, southend, q1, sig, "second of a tie", _at(5))
    _post(kpi, essex, q1, sig, "not asked for", _at(9))
    current = commentary_current(
        kpi_ids=[kpi.pk, other_kpi.pk], place_ids=[southend.pk, thurrock.pk]
    )
    assert current == {
        (kpi.pk, southend.pk, q1.pk): later,
        (kpi.pk, southend.pk, q2.pk): q2_note,
        (kpi.pk, thurrock.pk, q1.pk): thurrock_note,
        (other_kpi.pk, southend.pk, q1.pk): tie_winner,
    }


@pytest.mark.parametrize("how_many", [2, 20])
def test_current_reads_one_query_with_authors(sig, places, how_many, django_assert_num_queries):
    kpis = [KpiFactory() for _ in range(how_many)]
    period = PeriodFactory(label="2024-25 Q3")
    for kpi in kpis:
        _post(kpi, places["southend"], period, sig, "old", _at(1))
        _post(kpi, places["southend"], period, sig, "new", _at(2))
    with django_assert_num_queries(1):
        current = commentary_current(
            kpi_ids=[k.pk for k in kpis], place_ids=[places["southend"].pk]
        )
        assert {c.author.username for c in current.values()} == {sig.username}
    assert [c.text for c in current.values()] == ["new"] * how_many


@pytest.mark.parametrize("how_many", [2, 20])
def test_for_kpi_is_every_post_at_the_places_newest_first_in_one_query(
    sig, places, how_many, django_assert_num_queries
):
    kpi = KpiFactory()
    period = PeriodFactory(label="2024-25 Q4")
    posts = [
        _post(kpi, places["southend" if n % 2 else "thurrock"], period, sig, f"post {n}", _at(n))
        for n in range(1, how_many + 1)
    ]
    _post(kpi, places["essex"], period, sig, "elsewhere", _at(28))
    _post(KpiFactory(), places["southend"], period, sig, "another KPI", _at(28))
    with django_assert_num_queries(1):
        found = commentary_for_kpi(
            kpi=kpi, place_ids=[places["southend"].pk, places["thurrock"].pk]
        )
        shown = [(c.place.code, c.period.label, c.author.username, c.text) for c in found]
    assert found == posts[::-1]
    assert shown[0] == (
        "southend" if how_many % 2 else "thurrock",
        "2024-25 Q4",
        sig.username,
        f"post {how_many}",
    )


def test_history_is_newest_first_for_one_kpi_place_and_period(sig, places):
    kpi = KpiFactory()
    period = PeriodFactory(label="2023-24")
    first = _post(kpi, places["southend"], period, sig, "first", _at(1))
    second = _post(kpi, places["southend"], period, sig, "second", _at(2))
    _post(kpi, places["thurrock"], period, sig, "other place", _at(3))
    _post(kpi, places["southend"], PeriodFactory(label="2022-23"), sig, "other period", _at(3))
    assert commentary_history(kpi=kpi, place=places["southend"], period=period) == [
        second,
        first,
    ]
