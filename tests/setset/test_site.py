"""The site around the pages: the admin for administrators only, logging in and out."""

import pytest
from django.urls import reverse

from strategy.access import Role
from tests.strategy.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "admin_allowed"),
    [
        (Role.ADMINISTRATOR, True),
        (Role.SIG_MEMBER, False),
        (Role.PLACE_LEAD, False),
        (Role.ANALYST, False),
        (None, False),
    ],
)
def test_only_administrators_reach_the_admin(client, role, admin_allowed):
    user = UserFactory(roles=[role] if role else [])
    assert user.is_staff is admin_allowed
    client.force_login(user)
    response = client.get("/admin/")
    if admin_allowed:
        assert response.status_code == 200
        assert "Site administration" in response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_staff_flag_alone_does_not_open_the_admin(client):
    user = UserFactory(roles=[Role.PLACE_LEAD])
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302


def test_log_in_and_out(client, strategy_data):
    UserFactory(username="lead", roles=[Role.PLACE_LEAD])
    response = client.post(reverse("login"), {"username": "lead", "password": PASSWORD})
    assert response.status_code == 302
    assert "Signed in as lead" in client.get(reverse("reporting:home")).content.decode()
    client.post(reverse("logout"))
    assert "Log in" in client.get(reverse("reporting:home")).content.decode()


def test_wrong_password_is_refused(client):
    UserFactory(username="lead", roles=[Role.PLACE_LEAD])
    response = client.post(reverse("login"), {"username": "lead", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
