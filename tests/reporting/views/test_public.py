"""Public pages: the strategy on a page, KPI definitions, deliverables and the release calendar."""

import pytest
from django.urls import reverse

from strategy.access import Role
from strategy.models import Deliverable, Priority


def test_home_shows_vision_outcomes_and_every_priority(client, strategy_data):
    response = client.get(reverse("reporting:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "To promote good emotional and mental health for everyone" in html
    assert "Reduced premature mortality for people with serious mental illness" in html
    assert "I feel safe and supported" in html
    for code in Priority.objects.values_list("code", flat=True):
        assert f'id="priority-{code}"' in html


def test_home_query_count_does_not_grow_with_deliverables(
    client, strategy_data, django_assert_num_queries
):
    # Measure, then add links from every priority to a deliverable and measure again.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        client.get(reverse("reporting:home"))
    deliverable = Deliverable.objects.first()
    deliverable.priorities.set(Priority.objects.all())
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(reverse("reporting:home"))
    assert response.content.decode().count(deliverable.code) >= 46


def test_home_page_query_count_is_pinned(client, strategy_data, django_assert_num_queries):
    # strategy + source, then one query for each of 9 prefetched lists (priorities' KPIs and
    # deliverables included); outcomes' KPIs, the KPIs and their published headlines; the
    # latest and next releases and the places; anonymous, so no session or user queries.
    with django_assert_num_queries(16):
        client.get(reverse("reporting:home"))


def test_each_priority_links_to_its_kpis_and_deliverables(client, catalogue_data):
    html = client.get(reverse("reporting:home")).content.decode()
    start = html.index('id="priority-A-PEI-03"')
    item = html[start : html.index("</li>", start)]
    # Annual physical health checks for people with severe mental illness.
    assert reverse("reporting:kpi-definition", args=["SMI-PHYSICAL-HEALTH-CHECKS"]) in item
    start = html.index('id="priority-A-PEI-08"')
    item = html[start : html.index("</li>", start)]
    assert "/deliverables/#SET-D-" in item


def test_kpi_definition_page_shows_source_targets_and_baseline(client, catalogue_data):
    response = client.get(reverse("reporting:kpi-definition", args=["EIP-2WK"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "EIP23i" in html
    assert "Expired target of an earlier strategy" in html
    # Targets in the words of their sources, not as bare comparators and numbers.
    assert "At least 60% of people with a first episode of psychosis start treatment" in html
    assert "50% of people with a first episode of psychosis get the right treatment" in html
    assert "≥ 60" not in html
    assert "2020-21" in html


def test_unknown_kpi_is_not_found(client, catalogue_data):
    assert client.get("/kpis/NO-SUCH-KPI/").status_code == 404


def test_kpi_page_query_count_is_fixed(client, catalogue_data, django_assert_num_queries):
    # KPI with owner and rule, then priorities, outcomes, statements, versions and targets;
    # the published releases, and the KPI's published figures.
    with django_assert_num_queries(8):
        client.get(reverse("reporting:kpi-definition", args=["SUICIDE-RATE"]))
    with django_assert_num_queries(8):
        client.get(reverse("reporting:kpi-definition", args=["EIP-2WK"]))


def test_deliverables_page_lists_every_priority_deliverable_in_fixed_queries(
    client, catalogue_data, django_assert_num_queries
):
    with django_assert_num_queries(2):
        response = client.get(reverse("reporting:deliverables"))
    html = response.content.decode()
    assert 'id="SET-D-01"' in html
    assert "a national total, not a place target" in html


@pytest.mark.parametrize(
    ("role", "returns", "internal"),
    [
        (None, False, False),
        (Role.ANALYST, False, False),
        (Role.PLACE_LEAD, True, False),
        (Role.SIG_MEMBER, True, True),
        (Role.ADMINISTRATOR, True, True),
    ],
)
def test_the_header_shows_each_role_the_pages_it_may_open(
    client, strategy_data, make_user, role, returns, internal
):
    if role is not None:
        # A place lead uploads for the places granted to them, so this one has a grant (which
        # gives no other role anything).
        client.force_login(make_user("someone", role, places=("southend",)))
    html = client.get(reverse("reporting:home")).content.decode()
    assert ('href="/returns/"' in html) is returns
    assert ('href="/audit/"' in html) is internal
    assert 'href="/releases/"' in html


def test_the_release_calendar_is_public(client, db):
    assert client.get(reverse("reporting:releases")).status_code == 200
