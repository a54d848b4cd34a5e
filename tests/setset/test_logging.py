"""Production logging: one JSON line per event with the request's id, and a refusal logged
without a traceback."""

import io
import json
import logging.config
import uuid

import pytest
from django.conf import settings

from setset.logging import logging_config
from strategy.access import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """Production's logging configuration, its console written to a buffer: the lines."""
    buffer = io.StringIO()
    config = logging_config(log_format="json", level="INFO")
    config["handlers"]["console"]["stream"] = buffer
    logging.config.dictConfig(config)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logging.config.dictConfig(settings.LOGGING)


def test_a_refusal_is_one_json_line_with_the_request_id_and_no_traceback(
    client, make_user, json_log
):
    client.force_login(make_user("lead", Role.PLACE_LEAD, places=("southend",)))
    request_id = uuid.uuid4().hex
    response = client.get("/audit/", HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 403
    assert response["X-Request-ID"] == request_id
    lines = json_log()
    assert not [line for line in lines if "exc_info" in line or "Traceback" in str(line)]
    refused = [line for line in lines if line["logger"] == "django.request"]
    assert len(refused) == 1
    assert refused[0]["message"] == "Forbidden (Permission denied): /audit/"
    assert (refused[0]["level"], refused[0]["request_id"]) == ("WARNING", request_id)
    assert set(refused[0]) >= {"time", "level", "logger", "message", "request_id"}


def test_a_request_without_an_id_is_given_one(client, json_log):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    made = response["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    lines = [line for line in json_log() if line["logger"] == "django.request"]
    assert [line["request_id"] for line in lines] == [made]
