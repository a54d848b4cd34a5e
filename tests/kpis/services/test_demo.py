"""The synthetic demo data: consistent across places, flagged, and with its edge cases."""

from datetime import date

import pandas as pd
import pytest
from django.db import connection

from kpis.models import Kpi, Observation, Release, Series
from kpis.selectors.observations import observation_first_published, observations_frame
from kpis.services.demo import DEMO_REVISION_REASON, demo_data_load

AS_OF = date(2025, 9, 30)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        written = demo_data_load(as_of=AS_OF, seed=7)
        yield written
        # Everything the demo wrote, its published release included, so later tests start
        # from the fixtures alone.
        Observation.objects.all().delete()
        Series.objects.all().delete()
        # The application never deletes from the audit log; the test database is tidied here.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM kpis_auditevent WHERE release_id IS NOT NULL")
        Release.objects.all().delete()


@pytest.fixture
def frame(demo, db):
    return observations_frame()


def _values(frame, kpi, place):
    rows = frame[(frame["kpi"] == kpi) & (frame["place"] == place)]
    return rows.set_index("label")


def test_demo_is_written_once_and_flagged_synthetic(demo, db):
    assert demo > 5000
    assert demo_data_load(as_of=AS_OF, seed=7) == 0
    assert not Observation.objects.filter(synthetic=False).exists()


def test_counts_of_a_place_are_the_sum_of_its_parts(frame):
    # CYP access is counted by sub-ICB location (GP-registered basis); Mid and South Essex ICS
    # is the five MSE sub-ICB locations, SET (GP-registered) all seven.
    mse_parts = ["sub-icb-99e", "sub-icb-99f", "sub-icb-06q", "sub-icb-99g", "sub-icb-07g"]
    access = frame[frame["kpi"] == "CYP-ACCESS"]
    label = access["label"].iloc[access["period_end"].argmax()]
    rows = access[access["label"] == label].set_index("place")
    assert rows.loc["ics-mse", "value"] == rows.loc[mse_parts, "value"].sum()
    seven = [*mse_parts, "sub-icb-07h", "sub-icb-06t"]
    assert rows.loc["set-registered", "value"] == rows.loc[seven, "value"].sum()
    assert rows.loc["ics-mse", "value"] >= rows.loc["sub-icb-99g", "value"]


def test_proportions_of_a_place_are_recomputed_from_summed_parts(frame):
    rows = frame[frame["kpi"] == "EIP-2WK"]
    combined = rows[rows["place"] == "set-registered"].set_index("label")
    parts = (
        rows[rows["place"].str.startswith("sub-icb-")]
        .groupby("label")[["numerator", "denominator"]]
        .sum()
    )
    common = combined.index.intersection(parts.index)
    assert len(common) > 10
    expected = parts.loc[common, "numerator"] / parts.loc[common, "denominator"] * 100
    assert (combined.loc[common, "value"] - expected).abs().max() < 1e-6


def test_ccgs_report_before_july_2022_and_sub_icbs_after(frame):
    rows = frame[frame["kpi"] == "EIP-2WK"]
    assert set(rows[rows["place"] == "ccg-99g"]["period_end"].dt.date.map(str)) <= {
        d for d in rows["period_end"].dt.date.map(str) if d <= "2022-06-30"
    }
    assert rows[rows["place"] == "sub-icb-99g"]["period_end"].min() >= pd.Timestamp("2022-07-01")


def test_every_kpi_with_places_runs_from_2019_20_to_the_as_of_date(frame, db):
    covered = frame.groupby("kpi").agg(first=("period_start", "min"), last=("period_end", "max"))
    assert len(covered) >= 40
    for kpi, row in covered.iterrows():
        assert row["first"] <= pd.Timestamp("2020-03-31") or kpi.startswith("SUICIDE"), kpi
        assert row["last"] <= pd.Timestamp(AS_OF), kpi
        # Annual KPIs end at 2024-25 (or 2023-24 where the demo's missing return is the
        # latest year of a single-place series).
        assert row["last"] >= pd.Timestamp("2024-03-31"), kpi


def test_edge_cases_are_present(frame, db):
    # True zeros for an "eliminate" target.
    police = frame[frame["kpi"] == "S136-POLICE-STATION"]
    assert (police["value"] == 0).any()
    # A numerator equal to its denominator.
    proportions = frame[frame["kpi"] == "EIP-2WK"]
    assert (proportions["numerator"] == proportions["denominator"]).any()
    # Small counts that public pages will suppress.
    assert ((proportions["numerator"] > 0) & (proportions["numerator"] < 5)).any()
    # A missing return for a locally supplied KPI: one place lacks the latest period.
    local = frame[frame["kpi"] == "MHST-PUPIL-COVERAGE"]
    latest = local["label"].iloc[local["period_end"].argmax()]
    counts = local.groupby("label")["place"].nunique()
    assert counts[latest] < counts.max()


def test_a_series_break_kpi_has_values_on_both_sides(frame, db):
    kpi = Kpi.objects.filter(definition_versions__series_break=True).first()
    broken = kpi.definition_versions.filter(series_break=True).first().applies_from
    rows = frame[frame["kpi"] == kpi.code]
    assert (rows["period_end"] < pd.Timestamp(broken)).any()
    assert (rows["period_start"] >= pd.Timestamp(broken)).any()


def test_one_published_value_was_revised_and_keeps_its_first_published_version(demo, db):
    revised = Observation.objects.get(change_reason=DEMO_REVISION_REASON)
    assert revised.version == 2 and revised.is_current
    first = observation_first_published(series=revised.series, period=revised.period)
    assert first.version == 1 and first.numerator == revised.numerator + 1
