"""The dashboards' page cache: served again only while the committed figures are the same.

These tests commit (the figures' version counts commits), with a real in-process cache.
"""

import os
import re
import subprocess
import sys

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kpis.models import Assessment, AuditEvent, FiguresVersion, Observation
from kpis.selectors.versions import figures_version
from strategy.access import Role
from strategy.models import Place
from tests.kpis.factories import AssessmentFactory, KpiFactory, PeriodFactory, SeriesFactory

PAGE_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "page-cache-tests",
}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.CACHES = {**settings.CACHES, "pages": PAGE_CACHE}
    from django.core.cache import caches

    caches["pages"].clear()
    # A transactional test before this one may have flushed the counting row.
    FiguresVersion.objects.get_or_create(pk=1)
    yield
    caches["pages"].clear()


def _other_connection():
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
    )


def _version_seen_elsewhere() -> int:
    with _other_connection() as other:
        return other.execute("SELECT number FROM kpis_figuresversion WHERE id = 1").fetchone()[0]


def _latest(kpi, place_code, value):
    series = SeriesFactory(kpi=kpi, place=Place.objects.get(code=place_code))
    return AssessmentFactory(
        series=series, period=PeriodFactory(label="2024-25"), is_latest=True, value=value
    )


def test_one_transaction_counts_once_when_it_commits(catalogue_data):
    before = figures_version()
    with transaction.atomic():
        # The factory writes several tables (the KPI, its owner, its disclosure rule).
        kpi = KpiFactory(code="CACHE-1")
    assert figures_version() == before + 1
    with transaction.atomic():
        _latest(kpi, "southend", 41.0)
        Assessment.objects.filter(series__kpi=kpi).update(value=42.0)
        # Not committed: nobody else sees a change yet, nor does this connection's count.
        assert _version_seen_elsewhere() == before + 1
    assert figures_version() == before + 2
    assert connection.cursor().execute("SELECT count(*) FROM kpis_figures_touched").fetchone() == (
        0,
    )


def test_writes_the_orm_never_sees_are_counted_too(catalogue_data):
    before = figures_version()
    with _other_connection() as other:
        other.execute("UPDATE kpis_kpi SET title = title || '' WHERE code = 'IAPT-RECOVERY'")
    assert figures_version() == before + 1
    with _other_connection() as other:
        other.execute("DELETE FROM kpis_observation WHERE false")
    assert figures_version() == before + 2


def test_the_audit_log_and_rolled_back_work_are_not_counted(catalogue_data, sig):
    before = figures_version()
    AuditEvent.objects.create(at=timezone.now(), action=AuditEvent.Action.REMINDER, actor=sig)
    with pytest.raises(RuntimeError), transaction.atomic():
        KpiFactory(code="CACHE-GONE")
        raise RuntimeError("abandon")
    assert figures_version() == before


def test_commits_are_counted_in_the_order_they_commit(catalogue_data):
    """A transaction that started writing first but commits last still moves the count on, so a
    page cached between the two commits is not served after the second."""
    before = figures_version()
    slow = _other_connection()
    try:
        slow.execute("UPDATE kpis_kpi SET title = title || '' WHERE code = 'IAPT-RECOVERY'")
        with transaction.atomic():
            KpiFactory(code="CACHE-FAST")
        assert figures_version() == before + 1
        slow.commit()
    finally:
        slow.close()
    assert figures_version() == before + 2


def test_every_table_the_pages_read_is_counted():
    """A new model's table is counted unless it is named here as one no cached page reads."""
    not_counted = {
        "kpis_returnupload",
        "kpis_returnrow",
        "kpis_returnupload_places",
        "kpis_auditevent",
        "kpis_releaseaccess",
        "kpis_workerheartbeat",
        "kpis_figuresversion",
        "strategy_user",
        "strategy_user_groups",
        "strategy_user_user_permissions",
    }
    tables = {
        model._meta.db_table
        for label in ("strategy", "kpis")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = 'kpis_figures_changed'"
        )
        counted = {name for (name,) in cursor.fetchall()}
    assert tables - not_counted - counted == set()
    assert counted <= tables


def _content(page: str) -> str:
    """The page without its log-out form's token (masked afresh on every response)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def _board(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reporting:board") + "?place=southend")
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_board_is_served_from_the_cache_until_a_figure_changes(client, sig, catalogue_data):
    kpi = KpiFactory(code="CACHE-B", title="Cached board row")
    assessment = _latest(kpi, "southend", 52.5)
    client.force_login(sig)
    first, cold_queries = _board(client)
    again, warm_queries = _board(client)
    assert "52.5%" in first and _content(again) == _content(first)
    # From the cache: the session, the user, their roles and the figures' version.
    assert warm_queries == 4 < cold_queries
    Assessment.objects.filter(pk=assessment.pk).update(value=61.25)
    changed, queries = _board(client)
    assert "61.2%" in changed and "52.5%" not in changed
    assert queries == cold_queries


def test_a_change_to_the_rows_of_observations_shows_on_the_kpi_page(client, sig, catalogue_data):
    kpi = KpiFactory(code="CACHE-K", title="Cached KPI page")
    _latest(kpi, "southend", 33.0)
    client.force_login(sig)
    url = reverse("reporting:kpi-dashboard", args=[kpi.code])
    first = client.get(url).content.decode()
    assert _content(client.get(url).content.decode()) == _content(first)
    before = figures_version()
    Observation.objects.filter(series__kpi=kpi).delete()
    assert figures_version() == before + 1
    # The figures' version moved on, so the page is composed again, not read from the cache.
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert len(queries) > 5


def test_each_viewer_has_their_own_page_and_access_is_checked_first(
    client, sig, make_user, catalogue_data
):
    kpi = KpiFactory(code="CACHE-V")
    _latest(kpi, "southend", 20.0)
    _latest(kpi, "thurrock", 80.0)
    client.force_login(sig)
    group_page = client.get(reverse("reporting:board")).content.decode()
    assert "80.0%" in group_page
    lead = make_user("southend-cache-lead", Role.PLACE_LEAD, places=("southend",))
    client.force_login(lead)
    lead_page = client.get(reverse("reporting:board")).content.decode()
    assert "20.0%" in lead_page and "80.0%" not in lead_page
    lead.groups.set(Group.objects.filter(name=Role.ANALYST.value))
    assert client.get(reverse("reporting:board")).status_code == 403
    assert client.get(reverse("reporting:place-dashboard", args=["southend"])).status_code == 403


def test_the_page_around_the_cached_content_is_the_viewers_own(sig, catalogue_data):
    """The log-out form's token and the signed-in name are never taken from the cache: a token
    from a page cached in an earlier session would be refused."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(sig)
    assert "Signed in as sig-member" in browser.get(reverse("reporting:board")).content.decode()
    browser.post(reverse("logout"), {"csrfmiddlewaretoken": _token(browser)})
    browser.force_login(sig)
    page = browser.get(reverse("reporting:board")).content.decode()
    assert "Signed in as sig-member" in page
    response = browser.post(reverse("logout"), {"csrfmiddlewaretoken": _token(page)})
    assert response.status_code == 302
    assert "_auth_user_id" not in browser.session


def _token(page_or_client) -> str:
    page = (
        page_or_client
        if isinstance(page_or_client, str)
        else page_or_client.get(reverse("reporting:board")).content.decode()
    )
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.mark.slow
def test_the_embedded_database_counts_changes_too(tmp_path):
    """SQLite (``make run`` with no services) has row triggers: each written row counts."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from kpis.selectors.versions import figures_version\n"
        "from strategy.models import Organisation\n"
        "call_command('migrate', verbosity=0)\n"
        "before = figures_version()\n"
        "Organisation.objects.bulk_create([Organisation(code='A', name='a'),"
        " Organisation(code='B', name='b')])\n"
        "Organisation.objects.filter(code='A').update(name='A')\n"
        "print(before, figures_version())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "setset.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
            "CELERY_BROKER_URL": "memory://localhost/",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["0", "3"]
