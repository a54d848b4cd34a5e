"""With a read replica configured, anonymous GET requests (the public pages and the API) read
from it; signed-in users and every write stay on the primary.

The test replica is a second connection to the test database (a mirror), so only committed
rows are seen through it: hence a transactional test."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from strategy.access import Role

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def queries_by_database(client, method: str, path: str, **data) -> tuple[int, int, int]:
    """The status, then how many queries went to the primary and to the replica."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = getattr(client, method)(path, data)
    return response.status_code, len(primary), len(replica)


def test_anonymous_reads_come_from_the_replica(client, settings, catalogue_data):
    settings.READ_REPLICA_ENABLED = True
    status, primary, replica = queries_by_database(client, "get", "/api/v1/kpis/")
    assert (status, primary) == (200, 0) and replica > 0
    status, primary, replica = queries_by_database(client, "get", "/kpis/")
    assert (status, primary) == (200, 0) and replica > 0
    assert "TT-RECOVERY" in client.get("/kpis/").content.decode()


def test_signed_in_users_and_writes_stay_on_the_primary(
    client, settings, catalogue_data, make_user
):
    settings.READ_REPLICA_ENABLED = True
    client.force_login(make_user("sig", Role.SIG_MEMBER))
    status, primary, replica = queries_by_database(client, "get", "/board/")
    assert (status, replica) == (200, 0) and primary > 0
    client.logout()
    # An anonymous POST (a log-in) reads and writes on the primary.
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    status, primary, replica = queries_by_database(
        client, "post", "/accounts/login/", username="lead", password="correct horse battery staple"
    )
    assert (status, replica) == (302, 0) and primary > 0


def test_without_a_replica_everything_reads_the_primary(client, catalogue_data):
    status, primary, replica = queries_by_database(client, "get", "/api/v1/kpis/")
    assert (status, replica) == (200, 0) and primary > 0
