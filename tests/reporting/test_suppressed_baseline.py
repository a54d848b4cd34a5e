"""A baseline whose own value is withheld is never shown as the baseline of a later figure:
not in the API's assessments, not in a public page's sentence.

SET's (GP-registered) Talking Therapies recovery: April 2023 3 of 60 (5.0%, withheld: NHS
England suppresses counts below 5) is the first value, so the baseline of June's 40 of 60
(66.7%)."""

import pytest

from kpis.models import Assessment, Kpi
from kpis.services.observations import series_get_or_create
from strategy.models import Place
from tests.kpis.observation_helpers import record
from tests.kpis.release_helpers import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def june(catalogue_data, sig):
    recovery = series_get_or_create(
        kpi=Kpi.objects.get(code="TT-RECOVERY"), place=Place.objects.get(code="set-registered")
    )
    record(recovery, "Apr 2023", 3, 60, approved=True)
    record(recovery, "Jun 2023", 40, 60, approved=True)
    publish("Quarter 1 outcomes", user=sig, days=1)
    return Assessment.published.get(series=recovery, period__label="Jun 2023")


def test_the_withheld_baseline_is_stored_but_never_shown(client, june):
    assert (june.baseline_label, june.baseline_value) == ("Apr 2023", pytest.approx(5.0))
    rows = client.get("/api/v1/assessments/", {"kpi": "TT-RECOVERY"}).json()["results"]
    shown = {row["period_label"]: row for row in rows}["Jun 2023"]
    assert shown["baseline_label"] == "Apr 2023"
    assert (shown["baseline_value"], shown["change"]) == (None, None)
    page = client.get("/kpis/TT-RECOVERY/").content.decode()
    assert (
        "In Jun 2023, the figure for Southend, Essex and Thurrock (GP-registered) was 66.7%. "
        "The baseline figure, for Apr 2023, is not shown, to protect the privacy of the small "
        "number of people it counts, so neither is the change since."
    ) in page
    assert "5.0%" not in page and "real improvement" not in page
    download = client.get("/kpis/TT-RECOVERY/figures.csv").content.decode("utf-8-sig")
    assert "5.0" not in download and "66.6" in download
