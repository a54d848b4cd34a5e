"""The API's permission asks the access table: the same answers as the pages get."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from reporting.api.permissions import AccessTablePermission
from strategy.access import Action, Role
from strategy.services import user_create


def request(user, token=None):
    return SimpleNamespace(user=user, auth=token)


def view(action):
    return SimpleNamespace(access_action=action)


@pytest.fixture
def users(strategy_data):
    def make(name, role):
        return user_create(username=f"api-{name}", password="x" * 20, roles=[role])

    return {
        "analyst": make("analyst", Role.ANALYST),
        "lead": make("lead", Role.PLACE_LEAD),
        "sig": make("sig", Role.SIG_MEMBER),
    }


def test_anonymous_callers_read_published_figures_only(users):
    permission = AccessTablePermission()
    anonymous = request(AnonymousUser())
    assert permission.has_permission(anonymous, view(Action.READ_PUBLISHED)) is True
    assert permission.has_permission(anonymous, view(Action.SEE_UNPUBLISHED)) is False


def test_token_calls_need_the_token_action_as_well(users):
    permission = AccessTablePermission()
    published = view(Action.READ_PUBLISHED)
    assert permission.has_permission(request(users["analyst"], "token"), published) is True
    # A place lead may read published figures in a session, but holds no API token right.
    assert permission.has_permission(request(users["lead"]), published) is True
    assert permission.has_permission(request(users["lead"], "token"), published) is False
    unpublished = view(Action.SEE_UNPUBLISHED)
    assert permission.has_permission(request(users["sig"], "token"), unpublished) is True
    assert permission.has_permission(request(users["analyst"], "token"), unpublished) is False


def test_a_view_that_names_no_action_is_closed(users):
    assert AccessTablePermission().has_permission(request(users["sig"]), object()) is False
