"""The Data API page and an analyst's own token."""

import pytest
from rest_framework.authtoken.models import Token

from kpis.models import AuditEvent
from strategy.access import Role

pytestmark = pytest.mark.django_db


def test_the_api_page_shows_the_examples_with_this_sites_address(client, catalogue_data, settings):
    settings.ALLOWED_HOSTS = ["outcomes.example.org"]
    response = client.get("/api/", HTTP_HOST="outcomes.example.org")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="setset-code"') == 3
    assert (
        "BASE_URL = os.environ.get(&quot;SET_OUTCOMES_URL&quot;, "
        "&quot;http://outcomes.example.org&quot;)" in page
    )
    assert (
        "base_url &lt;- Sys.getenv(&quot;SET_OUTCOMES_URL&quot;, &quot;http://outcomes.example.org&quot;)"
        in page
    )
    assert "BaseUrl = &quot;http://outcomes.example.org&quot;" in page
    assert "127.0.0.1:8000" not in page
    assert "/api/v1/reference/" in page and "/api/v1/observations/" in page
    # Anonymous readers are not offered a token.
    assert "/api/token/" not in page


@pytest.mark.parametrize(
    ("role", "offered"), [(Role.ANALYST, True), (Role.SIG_MEMBER, True), (Role.PLACE_LEAD, False)]
)
def test_the_token_link_is_offered_to_roles_that_call_with_a_token(
    client, catalogue_data, make_user, role, offered
):
    client.force_login(make_user("someone", role, places=("southend",)))
    assert ("/api/token/" in client.get("/api/").content.decode()) is offered


def test_anonymous_callers_are_sent_to_log_in_and_place_leads_are_refused(
    client, catalogue_data, make_user
):
    response = client.get("/api/token/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(make_user("lead", Role.PLACE_LEAD, places=("southend",)))
    assert client.get("/api/token/").status_code == 403
    assert client.post("/api/token/").status_code == 403
    assert Token.objects.count() == 0


def test_an_analyst_issues_a_token_and_replacing_it_stops_the_old_one(
    client, catalogue_data, make_user
):
    analyst = make_user("analyst", Role.ANALYST)
    client.force_login(analyst)
    assert "You have no token yet." in client.get("/api/token/").content.decode()
    assert client.post("/api/token/").status_code == 302
    first = Token.objects.get(user=analyst).key
    assert first in client.get("/api/token/").content.decode()
    client.post("/api/token/")
    second = Token.objects.get(user=analyst).key
    assert second != first

    api = client.__class__()
    assert api.get("/api/v1/kpis/", HTTP_AUTHORIZATION=f"Token {first}").status_code == 401
    assert api.get("/api/v1/kpis/", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200
    events = AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN, actor=analyst)
    assert [event.detail for event in events.order_by("at")] == [
        {"replaced": False},
        {"replaced": True},
    ]
    # The log records that a token was issued, never the token.
    assert first not in str(list(events.values_list("detail", flat=True)))
