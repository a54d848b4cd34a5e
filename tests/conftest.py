"""Shared fixtures: the transcribed strategy, users per role, a real Celery worker on Redis."""

import os
from pathlib import Path

import pytest
from django.conf import settings

from strategy.access import Role
from strategy.models import Place
from strategy.services import strategy_fixtures_load, user_create

SEEDS_DIR = Path(settings.BASE_DIR).parent / "shared" / "seeds"


@pytest.fixture
def strategy_data(db):
    """The strategy, geography, partners and deliverables as transcribed in fixtures/."""
    return strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")


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
