"""The database drops the connection a web process keeps: with the connection checked before
reuse (the default) the next request simply works; where a request meets the dropped
connection itself, it gets the site's own error page, and the request after it works.

A real gunicorn worker keeps its connection between requests (``DJANGO_CONN_MAX_AGE``), and
PostgreSQL itself drops it: the session is given a 300 ms ``idle_session_timeout``."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.process_helpers import spare_port, stop

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def serve(tmp_path):
    """Starts gunicorn (one worker, one thread) on the test database; stops it after."""
    started = []

    def start(*, health_checks: bool) -> str:
        port = spare_port()
        database = connection.settings_dict["NAME"]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "setset.settings.test",
            "TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}"
            "?options=-c%20idle_session_timeout%3D300",
            "DJANGO_CONN_MAX_AGE": "600",
            "DJANGO_CONN_HEALTH_CHECKS": "true" if health_checks else "false",
        }
        log = (tmp_path / f"gunicorn-{port}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "setset.wsgi:application"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(base + "/health/live")[0] == 200:
                    return base
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not start")

    yield start
    for process in started:
        stop(process)


def test_a_dropped_kept_connection_is_replaced_before_the_next_request(serve, catalogue_data):
    base = serve(health_checks=True)
    assert get(base + "/api/v1/kpis/?page_size=1")[0] == 200
    time.sleep(1)  # PostgreSQL ends the idle session
    status, body = get(base + "/api/v1/kpis/?page_size=1")
    assert status == 200, body[:300]


def test_a_request_that_meets_a_dropped_connection_gets_the_error_page_and_the_next_works(
    serve, catalogue_data
):
    base = serve(health_checks=False)
    assert get(base + "/api/v1/kpis/?page_size=1")[0] == 200
    time.sleep(1)
    status, body = get(base + "/api/v1/kpis/?page_size=1")
    assert status == 500
    assert "Sorry, something went wrong" in body
    assert "Traceback" not in body and "OperationalError" not in body
    status, body = get(base + "/api/v1/kpis/?page_size=1")
    assert status == 200, body[:300]
