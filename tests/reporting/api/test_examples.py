"""The documentation page's worked examples, run against the running service as an analyst
would run them: Python (pandas), R (readr and httr2) and Power Query (its request and types).

The figures are the release helpers' (``two_releases_and_a_pending_one``): Southend's Talking
Therapies recovery published as April 54/60 (revised from 30/60), May 3/60 (suppressed: NHS
England hides counts below 5) and June 40/60; July 45/60 approved but not released.
"""

import csv
import io
import math
import re
import runpy
import shutil
import subprocess
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pandas as pd
import pytest
from rest_framework.authtoken.models import Token

from reporting.api.pages import EXAMPLE_BASE_URL, EXAMPLES_DIR
from strategy.access import Role
from tests.kpis.release_helpers import two_releases_and_a_pending_one

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

Z95 = 1.959963984540054


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson score interval, as a percentage (the method's definition)."""
    p = successes / trials
    denominator = 1 + Z95 * Z95 / trials
    centre = (p + Z95 * Z95 / (2 * trials)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / trials + Z95 * Z95 / (4 * trials**2)) / denominator
    return 100 * (centre - half), 100 * (centre + half)


@pytest.fixture
def service(live_server, catalogue_data, sig):
    two_releases_and_a_pending_one(sig)
    return live_server.url


def assert_published_recovery(observations: pd.DataFrame) -> None:
    """The three published months, and nothing unreleased."""
    rows = observations.set_index("period_label")
    assert sorted(rows.index) == ["Apr 2023", "Jun 2023", "May 2023"]
    assert rows.loc["Apr 2023", "value"] == pytest.approx(90.0)
    low, high = wilson(54, 60)
    assert rows.loc["Apr 2023", "lower95"] == pytest.approx(low, abs=1e-5)
    assert rows.loc["Apr 2023", "upper95"] == pytest.approx(high, abs=1e-5)
    assert rows.loc["Jun 2023", "value"] == pytest.approx(200 / 3, abs=1e-6)
    # The suppressed month reads as missing, never as zero.
    assert bool(rows.loc["May 2023", "suppressed"]) is True
    assert math.isnan(rows.loc["May 2023", "value"])


def test_the_python_example_reads_the_published_figures(service, monkeypatch):
    monkeypatch.setenv("SET_OUTCOMES_URL", service)
    monkeypatch.delenv("SET_OUTCOMES_TOKEN", raising=False)
    names = runpy.run_path(str(EXAMPLES_DIR / "observations.py"))
    assert_published_recovery(names["observations"])
    latest = names["assessments"]
    assert latest[["place_code", "period_label"]].to_numpy().tolist() == [
        ["sub-icb-99g", "Jun 2023"]
    ]
    assert latest.loc[0, "verdict"] != ""


def test_the_python_example_sends_the_token_it_is_given(service, monkeypatch, make_user):
    monkeypatch.setenv("SET_OUTCOMES_URL", service)
    analyst = make_user("analyst-py", Role.ANALYST)
    monkeypatch.setenv("SET_OUTCOMES_TOKEN", Token.objects.create(user=analyst).key)
    assert_published_recovery(runpy.run_path(str(EXAMPLES_DIR / "observations.py"))["observations"])
    # A token the service does not know is refused, so the header is really sent.
    monkeypatch.setenv("SET_OUTCOMES_TOKEN", "0" * 40)
    with pytest.raises(urllib.error.HTTPError) as refused:
        runpy.run_path(str(EXAMPLES_DIR / "observations.py"))
    assert refused.value.code == 401


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (see .ci/run)")
def test_the_r_example_reads_the_published_figures(service, tmp_path, make_user):
    analyst = make_user("analyst-r", Role.ANALYST)
    script = (
        f"source({str(EXAMPLES_DIR / 'observations.R')!r}); "
        f"write_csv(published, {str(tmp_path / 'published.csv')!r}); "
        f"write_csv(observations, {str(tmp_path / 'observations.csv')!r}); "
        f"write_csv(assessments, {str(tmp_path / 'assessments.csv')!r})"
    )
    run = subprocess.run(
        ["Rscript", "-e", script],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SET_OUTCOMES_URL": service,
            "SET_OUTCOMES_TOKEN": Token.objects.create(user=analyst).key,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert_published_recovery(pd.read_csv(tmp_path / "published.csv"))
    assert_published_recovery(pd.read_csv(tmp_path / "observations.csv"))
    latest = pd.read_csv(tmp_path / "assessments.csv")
    assert latest[["place_code", "period_label"]].to_numpy().tolist() == [
        ["sub-icb-99g", "Jun 2023"]
    ]


def power_query_request(source: str) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """The base address, relative path, query and column types the Power Query example names."""
    base = re.search(r'BaseUrl = "([^"]+)"', source).group(1)
    relative = re.search(r'RelativePath = "([^"]+)"', source).group(1)
    query = dict(re.findall(r'(\w+) = "([^"]*)"', re.search(r"Query = \[([^\]]*)\]", source)[1]))
    types = dict(re.findall(r'\{"(\w+)", (type \w+|Int64\.Type)\}', source))
    return base, relative, query, types


def test_the_power_query_example_asks_for_columns_the_service_returns_in_its_types(service):
    base, relative, query, types = power_query_request(
        (EXAMPLES_DIR / "observations.pq").read_text()
    )
    assert base == EXAMPLE_BASE_URL
    with urllib.request.urlopen(f"{service}/{relative}?{urlencode(query)}") as response:
        # Encoding 65001 is UTF-8; Csv.Document reads past the byte order mark.
        text = response.read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    numbers = ["value", "lower95", "upper95"]
    frame = pd.DataFrame(rows)
    frame[numbers] = frame[numbers].apply(pd.to_numeric)
    frame["suppressed"] = frame["suppressed"].str.lower() == "true"
    assert_published_recovery(frame)
    missing = set(types) - set(rows[0])
    assert missing == set()
    # Each typed column converts as Power Query would (en-GB): blank is null.
    converters = {
        "type date": lambda cell: re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell),
        "type number": lambda cell: float(cell) == float(cell),
        "Int64.Type": lambda cell: int(cell) == int(cell),
        "type logical": lambda cell: cell.lower() in ("true", "false"),
    }
    failures = [
        (column, row[column])
        for row in rows
        for column, kind in types.items()
        if row[column] != "" and not converters[kind](row[column])
    ]
    assert failures == []
