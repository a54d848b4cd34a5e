"""Log-in throttling: repeated wrong passwords lock the account, even against the right one,
until the cool-off passes or an administrator unlocks it."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

from strategy.access import Role

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def log_in(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_fifty_wrong_passwords_then_the_right_one_does_not_log_in(client, make_user, settings):
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    answers = [log_in(client, "lead", f"guess-{n}").status_code for n in range(50)]
    # Four refusals on the form, then locked from the fifth (the limit) on.
    assert answers[:4] == [200] * 4
    assert set(answers[4:]) == {429}
    locked = log_in(client, "lead", PASSWORD)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Your account is locked for now" in page
    assert f"for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_account_so_colleagues_on_one_network_still_log_in(client, make_user):
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    make_user("colleague", Role.PLACE_LEAD, places=("thurrock",))
    for n in range(5):
        log_in(client, "lead", f"guess-{n}")
    response = log_in(client, "colleague", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_a_success_before_the_limit_starts_the_count_again(client, make_user):
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    for n in range(4):
        log_in(client, "lead", f"guess-{n}")
    assert log_in(client, "lead", PASSWORD).status_code == 302
    client.logout()
    for n in range(4):
        assert log_in(client, "lead", f"again-{n}").status_code == 200
    assert log_in(client, "lead", PASSWORD).status_code == 302


def test_an_administrator_unlocks_an_account_in_the_admin(client, make_user):
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    admin = make_user("admin", Role.ADMINISTRATOR)
    for n in range(5):
        log_in(client, "lead", f"guess-{n}")
    attempt = AccessAttempt.objects.get(username="lead")

    staff = client.__class__()
    staff.force_login(admin)
    listing = staff.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "lead" in listing.content.decode()
    deleted = staff.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert deleted.status_code == 200
    assert log_in(client, "lead", PASSWORD).status_code == 302


def test_the_unlock_command_and_the_cool_off_both_end_a_lock(client, make_user, settings):
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    for n in range(5):
        log_in(client, "lead", f"guess-{n}")
    call_command("axes_reset_username", "lead")
    assert log_in(client, "lead", PASSWORD).status_code == 302
    client.logout()

    for n in range(5):
        log_in(client, "lead", f"guess-{n}")
    assert log_in(client, "lead", PASSWORD).status_code == 429
    # Once the cool-off has passed since the last failure, the right password works.
    AccessAttempt.objects.filter(username="lead").update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    )
    assert log_in(client, "lead", PASSWORD).status_code == 302
