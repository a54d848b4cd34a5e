"""Commentary posts: who may write where, blank and over-long text, history kept."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from kpis.models import Commentary
from kpis.selectors.commentary import commentary_current, commentary_history
from kpis.services.commentary import commentary_may_write, commentary_post
from strategy.access import Role
from strategy.models import Organisation, Place
from strategy.services import user_create
from tests.kpis.factories import KpiFactory, PeriodFactory


@pytest.fixture
def southend(catalogue_data):
    return Place.objects.get(code="southend")


@pytest.fixture
def thurrock(catalogue_data):
    return Place.objects.get(code="thurrock")


@pytest.fixture
def council(catalogue_data):
    return Organisation.objects.get(code="SCC")


@pytest.fixture
def kpi(council):
    return KpiFactory(owner=council)


@pytest.fixture
def period(catalogue_data):
    return PeriodFactory(label="2024-25 Q1")


@pytest.fixture
def place_lead(make_user):
    return make_user("southend-place-lead", Role.PLACE_LEAD, places=("southend",))


@pytest.fixture
def owner_member(council):
    """Someone of the KPI's owner organisation, with no role and no place granted."""
    return user_create(
        username="council-officer", password="x" * 12, roles=[], organisation=council
    )


def test_a_place_lead_writes_for_their_own_place_only(place_lead, kpi, southend, thurrock):
    assert commentary_may_write(place_lead, kpi, southend)
    assert commentary_may_write(place_lead, kpi, southend.pk)  # a place's id does as well
    assert not commentary_may_write(place_lead, kpi, thurrock)


def test_the_owner_organisation_writes_on_its_kpi_for_any_place(
    owner_member, kpi, southend, thurrock
):
    assert commentary_may_write(owner_member, kpi, southend)
    assert commentary_may_write(owner_member, kpi, thurrock)
    someone_elses = KpiFactory(owner=Organisation.objects.get(code="ECC"))
    assert not commentary_may_write(owner_member, someone_elses, southend)
    unowned = KpiFactory(owner=None)
    assert not commentary_may_write(owner_member, unowned, southend)


def test_the_group_writes_anywhere_and_analysts_and_visitors_nowhere(
    sig, make_user, kpi, southend, thurrock
):
    assert commentary_may_write(sig, kpi, southend) and commentary_may_write(sig, kpi, thurrock)
    analyst = make_user("an-analyst", Role.ANALYST)
    assert not commentary_may_write(analyst, kpi, southend)
    assert not commentary_may_write(AnonymousUser(), kpi, southend)


def test_a_refused_post_says_who_writes_and_records_nothing(place_lead, kpi, thurrock, period):
    with pytest.raises(PermissionDenied, match="owner organisation, the place's lead"):
        commentary_post(user=place_lead, kpi=kpi, place=thurrock, period=period, text="Why")
    assert not Commentary.objects.filter(kpi=kpi).exists()


def test_a_post_is_stripped_and_recorded_with_its_author(place_lead, kpi, southend, period):
    posted = commentary_post(
        user=place_lead,
        kpi=kpi,
        place=southend,
        period=period,
        text="  Two clinicians left in May; locums start in July.\n",
    )
    stored = Commentary.objects.get(pk=posted.pk)
    assert stored.text == "Two clinicians left in May; locums start in July."
    assert (stored.kpi, stored.place, stored.period, stored.author) == (
        kpi,
        southend,
        period,
        place_lead,
    )
    assert stored.recorded_at is not None


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_blank_commentary_is_refused(place_lead, kpi, southend, period, text):
    with pytest.raises(ValidationError, match="cannot be blank"):
        commentary_post(user=place_lead, kpi=kpi, place=southend, period=period, text=text)
    assert not Commentary.objects.filter(kpi=kpi).exists()


def test_commentary_is_limited_to_a_thousand_characters(place_lead, kpi, southend, period):
    with pytest.raises(ValidationError, match="to 1,000 characters: this one has 1,001"):
        commentary_post(user=place_lead, kpi=kpi, place=southend, period=period, text="a" * 1001)
    exactly = commentary_post(
        user=place_lead, kpi=kpi, place=southend, period=period, text="a" * 1000
    )
    assert len(exactly.text) == 1000


def test_a_browsers_crlf_line_break_counts_as_one_character(place_lead, kpi, southend, period):
    # 500 + 2 + 499 = 1001 characters as sent; 1000 once the line break is one character.
    sent = "a" * 500 + "\r\n" + "b" * 499
    posted = commentary_post(user=place_lead, kpi=kpi, place=southend, period=period, text=sent)
    assert posted.text == "a" * 500 + "\n" + "b" * 499 and len(posted.text) == 1000


def test_every_post_is_kept_and_the_latest_is_current(sig, place_lead, kpi, southend, period):
    first = commentary_post(
        user=place_lead, kpi=kpi, place=southend, period=period, text="Waiting lists grew."
    )
    second = commentary_post(
        user=sig, kpi=kpi, place=southend, period=period, text="Recovery plan agreed."
    )
    assert commentary_history(kpi=kpi, place=southend, period=period) == [second, first]
    current = commentary_current(kpi_ids=[kpi.pk], place_ids=[southend.pk])
    assert current == {(kpi.pk, southend.pk, period.pk): second}
    assert current[kpi.pk, southend.pk, period.pk].text == "Recovery plan agreed."
