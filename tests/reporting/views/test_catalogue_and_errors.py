"""The KPI catalogue page and the error pages in the site's design."""

from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from strategy.access import Role


def test_the_catalogue_lists_every_kpi_and_filters(
    client, catalogue_data, django_assert_num_queries
):
    url = reverse("reporting:kpi-list")
    page = client.get(url).content.decode()
    # fixtures/kpis/catalogue.yaml defines 43 KPIs, SUICIDE-RATE to MHST-PUPIL-COVERAGE (the
    # SET-D entries after them are priority deliverables, not KPIs).
    assert "43 KPIs" in page
    assert 'href="/kpis/TT-RECOVERY/"' in page
    recovery = client.get(url, {"q": "talking therapies recovery"}).content.decode()
    assert "TT-RECOVERY" in recovery and "TT-RELIABLE-RECOVERY" in recovery
    assert "SUICIDE-RATE" not in recovery
    cyp = client.get(url, {"cohort": "cyp"}).content.decode()
    assert "CYP-ACCESS" in cyp and "TT-RECOVERY" not in cyp
    nothing = client.get(url, {"q": "no-such-measure"}).content.decode()
    assert "0 KPIs match" in nothing and "No KPI matches" in nothing
    # KPIs, their outcomes and the outcome filter's choices: three queries whatever matches.
    with django_assert_num_queries(3):
        client.get(url)
    with django_assert_num_queries(3):
        client.get(url, {"statistic": "proportion"})


def test_forbidden_says_why(client, make_user, catalogue_data):
    client.force_login(make_user("analyst", Role.ANALYST))
    response = client.get(reverse("reporting:audit"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "You cannot see this page" in page
    assert "The audit log is for the Strategy Implementation Group." in page
    assert "signed in as analyst" in page.lower()


def test_not_found_is_helpful(client, catalogue_data):
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page and 'href="/kpis/"' in page
    assert client.get("/kpis/NO-SUCH-KPI/").status_code == 404


def test_server_error_page_needs_no_context():
    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, something went wrong" in page and "nhsuk-frontend" in page
