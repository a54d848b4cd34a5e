from strategy.access import Role, user_can_report_for, user_can_see_unpublished
from strategy.models import Place


def test_place_lead_reports_only_for_granted_places(strategy_data, make_user):
    lead = make_user("see-lead", Role.PLACE_LEAD, places=("alliance-south-east-essex",))
    see = Place.objects.get(code="alliance-south-east-essex")
    southend = Place.objects.get(code="southend")
    assert user_can_report_for(lead, see) is True
    # No inheritance: South East Essex contains Southend, but the grant is not for Southend.
    assert user_can_report_for(lead, southend) is False


def test_grant_without_the_role_gives_nothing(strategy_data, make_user):
    user = make_user("granted-no-role", None, places=("southend",))
    assert user_can_report_for(user, Place.objects.get(code="southend")) is False


def test_sig_and_administrators_report_for_any_place(strategy_data, make_user):
    thurrock = Place.objects.get(code="thurrock")
    for role in (Role.SIG_MEMBER, Role.ADMINISTRATOR):
        user = make_user(f"u-{role.name}", role)
        assert user_can_report_for(user, thurrock) is True
        assert user_can_see_unpublished(user) is True


def test_analysts_and_place_leads_do_not_see_unpublished(make_user):
    for role in (Role.ANALYST, Role.PLACE_LEAD):
        assert user_can_see_unpublished(make_user(f"u-{role.name}", role)) is False


def test_anonymous_user_has_no_access():
    from django.contrib.auth.models import AnonymousUser

    assert user_can_see_unpublished(AnonymousUser()) is False
