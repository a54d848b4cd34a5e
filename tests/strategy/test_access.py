import pytest

from strategy.access import Action, Role, user_can
from strategy.models import Place
from tests.strategy.factories import (
    AreaFactory,
    PlaceFactory,
    PlaceMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_place_lead_reports_only_for_granted_places():
    # South East Essex contains Southend: the alliance's areas include the council's.
    southend_area = AreaFactory(name="Southend-on-Sea", kind="unitary")
    see = PlaceFactory(name="South East Essex", kind=Place.Kind.ALLIANCE)
    southend = PlaceFactory(name="Southend-on-Sea")
    PlaceMembershipFactory(place=southend, area=southend_area)
    PlaceMembershipFactory(place=see, area=southend_area)
    PlaceMembershipFactory(place=see, area=AreaFactory(name="Castle Point"))
    lead = UserFactory(roles=[Role.PLACE_LEAD], places=[see])
    assert user_can(lead, Action.UPLOAD_RETURN, see) is True
    # No inheritance: South East Essex contains Southend, but the grant is not for Southend.
    assert user_can(lead, Action.UPLOAD_RETURN, southend) is False


def test_grant_without_the_role_gives_nothing():
    southend = PlaceFactory()
    user = UserFactory(roles=[], places=[southend])
    assert user_can(user, Action.UPLOAD_RETURN, southend) is False


def test_sig_and_administrators_report_for_any_place():
    thurrock = PlaceFactory()
    for role in (Role.SIG_MEMBER, Role.ADMINISTRATOR):
        user = UserFactory(roles=[role])
        assert user_can(user, Action.UPLOAD_RETURN, thurrock) is True
        assert user_can(user, Action.SEE_UNPUBLISHED) is True
        assert user_can(user, Action.SEE_COMPLETENESS) is True


def test_analysts_and_place_leads_do_not_see_unpublished():
    for role in (Role.ANALYST, Role.PLACE_LEAD):
        user = UserFactory(roles=[role])
        assert user_can(user, Action.SEE_UNPUBLISHED) is False
        assert user_can(user, Action.SEE_COMPLETENESS) is False


def test_anonymous_user_has_no_access():
    from django.contrib.auth.models import AnonymousUser

    assert user_can(AnonymousUser(), Action.SEE_UNPUBLISHED) is False
    assert user_can(AnonymousUser(), Action.SEE_COMPLETENESS) is False
