"""Shared fixtures: the transcribed strategy, users per role, open returns, a real Celery
worker on Redis."""

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from strategy.access import Role
from strategy.models import Place
from strategy.services import strategy_fixtures_load, user_create


def _load_fixtures() -> dict:
    from kpis.services.catalogue import catalogue_load

    return {
        "strategy": strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy"),
        "catalogue": catalogue_load(directory=settings.FIXTURES_DIR / "kpis"),
    }


def _origin_dir() -> Path | None:
    """The repository this checkout was cloned from, when it is a folder on this machine."""
    found = subprocess.run(
        ["git", "config", "--get", "remote.origin.url"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Path(found) if found and Path(found).is_dir() else None


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The strategy's source documents (``SETSET_SEEDS_DIR``): ``shared/seeds`` beside the
    checkout, as CI has it, or beside the repository a local clone was made from."""
    if "SETSET_SEEDS_DIR" in os.environ:
        return Path(os.environ["SETSET_SEEDS_DIR"])
    origin = _origin_dir()
    places = [Path(settings.BASE_DIR).parent, *([origin.parent] if origin else [])]
    candidates = [place / "shared" / "seeds" for place in places]
    return next((path for path in candidates if path.is_dir()), candidates[0])


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the transcribed fixtures once; each test's transaction rolls back over them."""
    with django_db_blocker.unblock():
        return _load_fixtures()


@pytest.fixture
def fixture_reports(db, django_db_setup):
    # Transactional tests flush the database when they end, so reload when it is empty.
    from kpis.models import Kpi

    if not Kpi.objects.exists():
        return _load_fixtures()
    return django_db_setup


@pytest.fixture
def strategy_data(fixture_reports):
    """The strategy, geography, partners and deliverables as transcribed in fixtures/."""
    return fixture_reports["strategy"]


@pytest.fixture
def catalogue_data(fixture_reports):
    """The KPI catalogue, disclosure rules and breakdowns, with the strategy."""
    return fixture_reports["catalogue"]


@pytest.fixture
def make_user(db):
    def make(username: str, role: Role | None, places: tuple[str, ...] = ()):
        return user_create(
            username=username,
            password="correct horse battery staple",
            roles=[role] if role else [],
            places=list(Place.objects.filter(code__in=places)),
        )

    return make


@pytest.fixture
def open_period(catalogue_data, make_user):
    """2024-25 expected from the three councils, reopened until well after today."""
    from kpis.models import ReportingExpectation
    from kpis.services.calendar import expectation_reopen, expectations_generate

    expectations_generate(period_label="2024-25")
    admin = make_user("calendar-admin", Role.ADMINISTRATOR)
    for expectation in ReportingExpectation.objects.filter(period__label="2024-25"):
        expectation_reopen(
            expectation=expectation, user=admin, until=timezone.localdate() + timedelta(days=30)
        )
    return "2024-25"


@pytest.fixture
def lead(make_user, open_period):
    """Southend's place lead, with 2024-25 open for returns."""
    return make_user("southend-lead", Role.PLACE_LEAD, places=("southend",))


@pytest.fixture
def sig(make_user):
    """A member of the Strategy Implementation Group: uploads for any place, decides returns."""
    return make_user("sig-member", Role.SIG_MEMBER)


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker thread consuming this test process's own queue on Redis."""
    from celery.contrib.testing.worker import start_worker

    from setset.celery import app

    queue = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        with start_worker(app, pool="solo", queues=[queue], perform_ping_check=False):
            yield app
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
