"""Fixtures of the KPI framework's tests."""

import pytest

from strategy.access import Role


@pytest.fixture
def chunking_admin(catalogue_data, make_user, settings):
    """An administrator loading history, with every CSV read in chunks of two lines."""
    settings.RETURN_CHUNK_BYTES = 10  # every CSV is "large"
    settings.RETURN_CHUNK_ROWS = 2
    return make_user("history-admin", Role.ADMINISTRATOR)


@pytest.fixture
def series(db):
    """The "all people" series of a KPI and a place, made by the factories."""
    from tests.kpis.factories import SeriesFactory

    return SeriesFactory()


@pytest.fixture
def period(db):
    from tests.kpis.factories import PeriodFactory

    return PeriodFactory(label="2023-24 Q2")
