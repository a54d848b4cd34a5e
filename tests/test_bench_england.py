"""The England-scale generator (bench/england.py): England's shape, on the right bases."""

import importlib.util
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def england():
    spec = importlib.util.spec_from_file_location("bench_england", BENCH / "england.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rest_of_england_has_englands_numbers_of_each_area(england):
    places = england.england_places(councils=150, icbs=39, sub_icbs=99)
    kinds = pd.Series([p["kind"] for p in places]).value_counts().to_dict()
    # With SET's own 3 councils, 3 ICBs and 7 sub-ICB locations (and their CCGs): England's
    # 153 upper-tier councils, 42 ICBs, 106 sub-ICB locations, and 9 regions with the East.
    assert kinds == {"region": 8, "council": 150, "ics": 39, "sub_icb": 99, "ccg": 99}
    assert len({p["code"] for p in places}) == len(places)
    bases = {p["kind"]: p["geography_basis"] for p in places}
    assert bases == {
        "region": "resident",
        "council": "resident",
        "ics": "gp_registered",
        "sub_icb": "gp_registered",
        "ccg": "gp_registered",
    }
    sub_icb = next(p for p in places if p["code"] == "sub-icb-y001")
    ccg = next(p for p in places if p["code"] == "ccg-y001")
    assert sub_icb["nhs_code"] == ccg["nhs_code"]
    assert sub_icb["valid_from"] == date(2022, 7, 1) and ccg["valid_to"] == date(2022, 6, 30)
    assert all(not p["within_set"] for p in places)


def _places():
    far = (np.datetime64("1900-01-01"), np.datetime64("2100-01-01"))
    rows = [
        ("england", "resident", *far),
        ("council-001", "resident", *far),
        ("ccg-y001", "gp_registered", far[0], np.datetime64("2022-06-30")),
        ("sub-icb-y001", "gp_registered", np.datetime64("2022-07-01"), far[1]),
    ]
    return pd.DataFrame(rows, columns=["code", "basis", "valid_from", "valid_to"])


def test_a_registered_kpi_has_ccgs_before_july_2022_sub_icbs_after_and_england(england):
    kpi = SimpleNamespace(
        code="K",
        period_type="month",
        geography_basis="gp_registered",
        breakdowns=["sex"],
        statistic="proportion",
        multiplier=100,
    )
    rows = england.kpi_rows(kpi, _places(), {"sex": ["female", "male"]}, np.random.default_rng(1))
    months = 108  # April 2019 to March 2028
    by_place = rows.groupby("place_code").size().to_dict()
    # The total and two sexes each month: 39 months of CCG, 69 of sub-ICB location.
    assert by_place == {"england": months * 3, "ccg-y001": 39 * 3, "sub-icb-y001": 69 * 3}
    assert set(rows.loc[rows["place_code"] == "ccg-y001", "period"]) >= {"Jun 2022"}
    assert "Jul 2022" not in set(rows.loc[rows["place_code"] == "ccg-y001", "period"])
    assert "council-001" not in by_place
    assert set(rows["breakdown"]) == {"", "sex:female", "sex:male"}
    assert (rows["numerator"] <= rows["denominator"]).all()
    worked = (rows["numerator"] / rows["denominator"] * 100).round(4)
    assert np.allclose(rows["value"], worked)
    # Each period is filed in the financial year its last day falls in.
    march = rows[rows["period"] == "Mar 2021"]
    assert set(march["year"]) == {2020}


def test_a_count_kpi_has_no_denominator(england):
    kpi = SimpleNamespace(
        code="C",
        period_type="financial_year",
        geography_basis="resident",
        breakdowns=[],
        statistic="count",
        multiplier=1,
    )
    rows = england.kpi_rows(kpi, _places(), {}, np.random.default_rng(1))
    assert set(rows["place_code"]) == {"england", "council-001"}
    assert len(rows) == 2 * 9  # 2019-20 to 2027-28
    assert (rows["denominator"] == "").all()
    assert (rows["value"] == rows["numerator"]).all()
