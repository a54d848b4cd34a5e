"""The whole access table, written out by hand: every action against every role, for a place
the user is granted, for another place, and for no place in particular."""

import pytest
from django.contrib.auth.models import AnonymousUser

from strategy.access import (
    ACCESS,
    Action,
    Role,
    places_for,
    roles_can,
    user_can,
    user_can_everywhere,
    user_can_for_all,
)
from strategy.models import Place
from strategy.services import user_create

A = Action
# (granted place, other place, no place) for: anonymous, place lead granted Southend, SIG
# member, analyst, administrator, and a logged-in user with no role but a grant.
Y, N = True, False
EXPECTED = {
    #                       anonymous   lead        sig         analyst     admin       no role
    A.READ_PUBLISHED: [(Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y)],
    A.UPLOAD_RETURN: [(N, N, N), (Y, N, Y), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.UPLOAD_HISTORY: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.SEE_RETURNS: [(N, N, N), (Y, N, Y), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.SUBMIT_RETURN: [(N, N, N), (Y, N, Y), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.DECIDE_RETURN: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.WITHDRAW_ANY_RETURN: [(N, N, N), (N, N, N), (N, N, N), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.SEE_UNPUBLISHED: [(N, N, N), (Y, N, Y), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.SEE_PRE_RELEASE: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.MANAGE_RELEASES: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.IMPORT_PUBLICATION: [(N, N, N), (N, N, N), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (N, N, N)],
    A.WRITE_COMMENTARY: [(N, N, N), (Y, N, Y), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.UPDATE_DELIVERABLE: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.REOPEN_PERIOD: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.SEE_AUDIT_LOG: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.SEE_DELIVERABLE_UPDATES: [(N, N, N), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (N, N, N)],
    A.SEE_COMPLETENESS: [(N, N, N), (N, N, N), (Y, Y, Y), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.USE_ADMIN: [(N, N, N), (N, N, N), (N, N, N), (N, N, N), (Y, Y, Y), (N, N, N)],
    A.USE_API_TOKEN: [(N, N, N), (N, N, N), (Y, Y, Y), (Y, Y, Y), (Y, Y, Y), (N, N, N)],
}
WHO = ["anonymous", "lead", "sig", "analyst", "admin", "no role"]


@pytest.fixture
def people(strategy_data):
    southend = Place.objects.get(code="southend")

    def make(name, roles):
        return user_create(
            username=f"access-{name}",
            password="correct horse battery staple",
            roles=roles,
            places=[southend],
        )

    return {
        "anonymous": AnonymousUser(),
        "lead": make("lead", [Role.PLACE_LEAD]),
        "sig": make("sig", [Role.SIG_MEMBER]),
        "analyst": make("analyst", [Role.ANALYST]),
        "admin": make("admin", [Role.ADMINISTRATOR]),
        "no role": make("none", []),
    }


def test_the_table_names_every_action_once():
    assert set(ACCESS) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize("action", list(Action))
def test_every_role_gets_exactly_what_the_table_says(action, people):
    granted = Place.objects.get(code="southend")
    # Thurrock is not granted to anyone; South East Essex contains Southend, and a grant for
    # Southend does not reach it (nor the other way round).
    for other_code in ("thurrock", "alliance-south-east-essex"):
        other = Place.objects.get(code=other_code)
        for who, (on_granted, on_other, on_none) in zip(WHO, EXPECTED[action], strict=True):
            user = people[who]
            assert user_can(user, action, granted) is on_granted, (action, who, "granted")
            assert user_can(user, action, other) is on_other, (action, who, other_code)
            assert user_can(user, action, other.pk) is on_other, (action, who, "by id")
            assert user_can(user, action) is on_none, (action, who, "no place")


@pytest.mark.parametrize("action", list(Action))
def test_places_for_lists_the_places_user_can_allows(action, people):
    every = Place.objects.count()
    for who, (on_granted, on_other, _) in zip(WHO, EXPECTED[action], strict=True):
        codes = set(places_for(people[who], action).values_list("code", flat=True))
        if on_other:
            assert len(codes) == every, (action, who)
        elif on_granted:
            assert codes == {"southend"}, (action, who)
        else:
            assert codes == set(), (action, who)


def test_a_lead_acts_for_a_whole_return_only_when_granted_every_place(people):
    lead = people["lead"]
    southend, thurrock = Place.objects.filter(code__in=["southend", "thurrock"]).order_by("code")
    assert user_can_for_all(lead, Action.SUBMIT_RETURN, [southend.pk]) is True
    assert user_can_for_all(lead, Action.SUBMIT_RETURN, [southend.pk, thurrock.pk]) is False
    assert user_can_everywhere(lead, Action.SUBMIT_RETURN) is False
    assert user_can_everywhere(people["sig"], Action.SUBMIT_RETURN) is True


def test_only_the_administrator_role_makes_staff(people):
    assert roles_can([Role.ADMINISTRATOR.value], Action.USE_ADMIN) is True
    assert [who for who in WHO[1:] if people[who].is_staff] == ["admin"]


def test_a_grant_without_any_role_gives_nothing(people):
    user = people["no role"]
    assert user.place_grants.count() == 1
    assert not any(user_can(user, action) for action in Action if action != Action.READ_PUBLISHED)
