"""Figures from the SET Outcomes API in pandas.

Anonymous calls read the published figures. With a token (an analyst's or the Strategy
Implementation Group's, from the "Your API token" page), set SET_OUTCOMES_TOKEN and the same
calls read what your role allows: a role that may see unpublished figures adds
view="internal" to read them too.
"""

import json
import os
import urllib.request
from urllib.parse import urlencode

import pandas as pd

BASE_URL = os.environ.get("SET_OUTCOMES_URL", "http://127.0.0.1:8000")
TOKEN = os.environ.get("SET_OUTCOMES_TOKEN", "")
HEADERS = {"Authorization": f"Token {TOKEN}"} if TOKEN else {}


def api_url(endpoint: str, **query) -> str:
    return f"{BASE_URL}/api/v1/{endpoint}/?{urlencode(query)}"


# Every observation of one KPI, every place and period, as CSV: streamed whole, no paging.
observations = pd.read_csv(
    api_url("observations", format="csv", kpi="TT-RECOVERY"),
    storage_options=HEADERS,
    parse_dates=["period_start", "period_end"],
)
# A withheld (suppressed) value has blank numbers: pandas reads them as missing, never zero.
print(observations[["place_code", "period_label", "value", "lower95", "upper95", "suppressed"]])


def results(url: str):
    """Every record of a JSON list, following its cursor from page to page."""
    while url:
        with urllib.request.urlopen(urllib.request.Request(url, headers=HEADERS)) as response:
            page = json.load(response)
        yield from page["results"]
        url = page["next"]


# Each series' latest assessment: change since the 2020-21 baseline, SPC and verdict.
assessments = pd.DataFrame(
    results(api_url("assessments", kpi="TT-RECOVERY", latest="true", page_size=500))
)
print(assessments[["place_code", "period_label", "change_category", "verdict", "verdict_reason"]])
