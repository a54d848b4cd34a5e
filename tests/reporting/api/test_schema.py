"""The API against its own OpenAPI schema, by schemathesis: generated calls to every operation,
valid and invalid, never meet a server error, and every answer matches the schema."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from kpis.services.progress import progress_recompute_dirty
from setset.wsgi import application
from tests.kpis.release_helpers import two_releases_and_a_pending_one

# Read from the application itself, in process (the schema view reads no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@pytest.fixture
def releases(catalogue_data, sig):
    made = two_releases_and_a_pending_one(sig)
    progress_recompute_dirty(batch_size=1000)
    # Called in process, the application would close the test's connection after each
    # request, as it does in production; Django's own test client disconnects the same.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield made
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_schema(case, releases):
    # Every check but two: like any HTML form, an empty parameter means "not given" (so
    # "?view=" is not refused), and some valid combinations are refused for what they ask
    # (an unpublished release as_of).
    case.call_and_validate(
        excluded_checks=[
            schemathesis.checks.negative_data_rejection,
            schemathesis.checks.positive_data_acceptance,
        ]
    )


def test_the_schema_is_valid_openapi_3(client, catalogue_data):
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {
        "/api/v1/observations/",
        "/api/v1/assessments/",
        "/api/v1/kpis/",
        "/api/v1/kpis/{code}/",
        "/api/v1/places/",
        "/api/v1/periods/",
        "/api/v1/releases/",
        "/api/v1/strategy/",
        "/api/v1/deliverables/",
    } <= set(document["paths"])
