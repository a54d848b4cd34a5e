"""Who gets what from the API, generated from the access table itself.

Every endpoint is called by every role (and by nobody), in a session and with a token; the
expected answer is worked out from ``strategy.access.ACCESS``, so a change to the table changes
what these tests expect. Then anonymous answers, in every format, are searched for anything
unpublished or suppressed.
"""

import csv
import io

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from kpis.models import Kpi
from kpis.services.progress import progress_recompute_dirty
from strategy.access import ACCESS, Action, Role
from tests.kpis.release_helpers import two_releases_and_a_pending_one

ENDPOINTS = {
    "/api/v1/strategy/": Action.READ_PUBLISHED,
    "/api/v1/deliverables/": Action.READ_PUBLISHED,
    "/api/v1/places/": Action.READ_PUBLISHED,
    "/api/v1/kpis/": Action.READ_PUBLISHED,
    "/api/v1/kpis/TT-RECOVERY/": Action.READ_PUBLISHED,
    "/api/v1/periods/": Action.READ_PUBLISHED,
    "/api/v1/releases/": Action.READ_PUBLISHED,
    "/api/v1/observations/": Action.READ_PUBLISHED,
    "/api/v1/assessments/": Action.READ_PUBLISHED,
    "/api/v1/observations/?view=internal": Action.SEE_UNPUBLISHED,
    "/api/v1/assessments/?view=internal": Action.SEE_UNPUBLISHED,
}
ROLES = [None, *Role]


def expected_status(role: Role | None, *, token: bool, action: Action) -> int:
    """What the access table says: 200 if the role may take the action (for every place, or
    for its granted places), and, with a token, may use one; 403 otherwise."""
    permission = ACCESS[action]
    if role is None:
        return 200 if permission.anonymous else 403
    if token and role.value not in ACCESS[Action.USE_API_TOKEN].roles:
        return 403
    allowed = (
        permission.anonymous
        or role.value in permission.roles
        or role.value in permission.place_roles
    )
    return 200 if allowed else 403


@pytest.fixture
def releases(catalogue_data, sig):
    made = two_releases_and_a_pending_one(sig)
    progress_recompute_dirty(batch_size=1000)
    return made


@pytest.fixture
def callers(make_user):
    """One user per role; the place lead holds Southend (sub-ICB 99G)."""
    return {
        role: make_user(
            f"api-{role.name.lower()}",
            role,
            places=("sub-icb-99g",) if role == Role.PLACE_LEAD else (),
        )
        for role in Role
    }


@pytest.mark.parametrize("token", [False, True], ids=["session", "token"])
@pytest.mark.parametrize("role", ROLES, ids=lambda r: "anonymous" if r is None else r.name)
def test_every_endpoint_answers_as_the_access_table_says(client, releases, callers, role, token):
    if role is not None:
        user = callers[role]
        if token:
            key = Token.objects.create(user=user).key
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
        else:
            client.force_login(user)
    elif token:
        client.defaults["HTTP_AUTHORIZATION"] = "Token not-a-real-token"
    for url, action in ENDPOINTS.items():
        response = client.get(url)
        if role is None and token:
            # A bad token is refused outright, whatever the endpoint, saying how to sign in.
            assert response.status_code == 401, url
            assert response["WWW-Authenticate"] == "Token", url
            continue
        assert response.status_code == expected_status(role, token=token, action=action), url


@pytest.mark.parametrize("role", ROLES, ids=lambda r: "anonymous" if r is None else r.name)
def test_the_browsable_api_answers_as_the_access_table_says(client, releases, callers, role):
    if role is not None:
        client.force_login(callers[role])
    for url, action in ENDPOINTS.items():
        response = client.get(url, HTTP_ACCEPT="text/html")
        expected = expected_status(role, token=False, action=action)
        assert response.status_code == expected, url
        if expected == 200:
            assert response["Content-Type"].startswith("text/html"), url
            assert "HTTP 200 OK" in response.content.decode(), url


def _texts(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode("utf-8", errors="replace")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_anonymous_callers_never_see_an_unpublished_or_suppressed_value(client, releases, fmt):
    for url in ("/api/v1/observations/", "/api/v1/assessments/"):
        for query in ({}, {"as_of": releases.first.pk}, {"as_of": releases.second.pk}):
            response = client.get(url, {**query, "format": fmt})
            assert response.status_code == 200
            text = _texts(response)
            # July (45/60, approved, awaiting its release) is nowhere.
            assert "Jul 2023" not in text
            rows = (
                response_rows
                if fmt == "json" and (response_rows := response.json()["results"])
                else list(csv.DictReader(io.StringIO(text)))
            )
            may = [row for row in rows if row["period_label"] == "May 2023"]
            assert len(may) == 1
            for column in ("value", "lower95", "upper95"):
                assert may[0][column] in (None, ""), (url, query, column)
            if "numerator" in may[0]:
                assert may[0]["numerator"] in (None, "")


def test_internal_notes_of_a_kpi_are_for_those_who_may_see_unpublished_figures(
    client, releases, callers
):
    Kpi.objects.filter(code="TT-RECOVERY").update(source_note="Checked against MHSDS v6.")
    assert client.get("/api/v1/kpis/TT-RECOVERY/").json()["source_note"] == ""
    client.force_login(callers[Role.ANALYST])
    assert client.get("/api/v1/kpis/TT-RECOVERY/").json()["source_note"] == ""
    client.force_login(callers[Role.SIG_MEMBER])
    assert (
        client.get("/api/v1/kpis/TT-RECOVERY/").json()["source_note"] == "Checked against MHSDS v6."
    )


def test_anonymous_and_token_calls_are_throttled(client, releases, callers, monkeypatch):
    rates = {"anon": "3/minute", "user": "5/minute"}
    # The throttles read their rates once, when imported.
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    answers = [client.get("/api/v1/periods/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    key = Token.objects.create(user=callers[Role.ANALYST]).key
    answers = [
        client.get("/api/v1/periods/", HTTP_AUTHORIZATION=f"Token {key}").status_code
        for _ in range(6)
    ]
    assert answers == [200] * 5 + [429]
    cache.clear()
