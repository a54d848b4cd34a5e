"""The published read model: each published value stored as the public reads it, with its
vintage, when its release publishes.

The releases are the release helpers' (``two_releases_and_a_pending_one``): Southend's Talking
Therapies recovery, April 30/60 in the first release and 54/60 in the second, May 3/60
(NHS England suppresses counts below 5 and rounds counts to 5), June 40/60 in the second, July
45/60 approved but not released; early intervention 6/10 in the first.
"""

import math

import pandas as pd
import pytest

from kpis.models import Assessment
from kpis.selectors.figures import (
    PUBLIC_FIGURE_COLUMNS,
    View,
    observation_public_figures,
    observation_source_rows,
)
from kpis.selectors.public import published_assessments
from kpis.services.published import published_figures_store, published_figures_store_all
from tests.kpis.release_helpers import two_releases_and_a_pending_one

STORED = list(PUBLIC_FIGURE_COLUMNS)


@pytest.fixture
def releases(catalogue_data, sig):
    return two_releases_and_a_pending_one(sig)


def wilson(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2)) / denominator
    return 100 * centre - 100 * half, 100 * centre + 100 * half


def stored(release, kpi: str, period: str) -> Assessment:
    return Assessment.published.get(
        release=release,
        series__kpi__code=kpi,
        series__breakdown__dimension="all",
        period__label=period,
    )


def test_a_revised_value_is_stored_rounded_with_its_first_published_value(releases):
    april = stored(releases.second, "TT-RECOVERY", "Apr 2023")
    # 54/60 = 90%: the numerator shown rounded to 5, the interval the source's own (Wilson's,
    # from the unrounded count), and the value revised from the 50% first published.
    assert (april.public_numerator, april.public_denominator, april.public_value) == (55, 60, 90)
    low, high = wilson(54, 60)
    assert april.public_lower95 == pytest.approx(low, abs=1e-9)
    assert april.public_upper95 == pytest.approx(high, abs=1e-9)
    assert (april.public_rounded, april.public_version) == (True, 2)
    assert (april.revised, april.first_published_value) == (True, 50.0)
    assert april.first_published_release_id == releases.first.pk
    assert april.revised_in_release_id == releases.second.pk


def test_a_first_publication_is_its_own_first_value_and_not_revised(releases):
    april = stored(releases.first, "TT-RECOVERY", "Apr 2023")
    assert (april.public_numerator, april.public_value, april.public_version) == (30, 50, 1)
    assert (april.revised, april.first_published_value) == (False, 50.0)
    assert april.first_published_release_id == releases.first.pk
    assert april.revised_in_release_id is None
    june = stored(releases.second, "TT-RECOVERY", "Jun 2023")
    assert june.first_published_release_id == releases.second.pk
    assert june.public_value == pytest.approx(200 / 3)


def test_a_suppressed_value_stores_nothing_that_would_give_it_away(releases):
    may = stored(releases.second, "TT-RECOVERY", "May 2023")
    assert may.public_suppressed is True
    numbers = [
        may.public_numerator,
        may.public_denominator,
        may.public_value,
        may.public_lower95,
        may.public_upper95,
        may.public_lower998,
        may.public_upper998,
        may.first_published_value,
    ]
    assert numbers == [None] * 8
    assert (may.public_interval_method, may.public_rounded, may.revised) == ("", False, False)
    # The unrounded figures stay for those who may see them.
    assert (may.numerator, may.denominator) == (3, 60)


def _stored_frame() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        Assessment.published.order_by("id").values("id", *STORED)
    ).set_index("id")


def test_what_is_stored_is_what_the_pages_work_out_at_read_time(releases):
    """The stored figures equal ``disclosed_figures`` and ``vintages_of`` applied now."""
    for release in (releases.first, releases.second):
        rows = published_assessments(as_of=release).filter(release=release)
        worked_out = observation_public_figures(
            observation_source_rows(rows, view=View.PUBLISHED), view=View.PUBLISHED, as_of=release
        ).set_index("id")
        here = _stored_frame().loc[worked_out.index]
        for column in STORED:
            expected = worked_out[PUBLIC_FIGURE_COLUMNS[column]]
            pd.testing.assert_series_equal(
                here[column].astype(object).where(here[column].notna(), None),
                expected.astype(object).where(expected.notna(), None),
                check_names=False,
                check_dtype=False,
                obj=f"{release.title}: {column}",
            )


def test_storing_again_changes_nothing_and_the_orm_path_agrees(releases, settings):
    before = _stored_frame()
    assert published_figures_store_all() == len(before)
    pd.testing.assert_frame_equal(_stored_frame(), before)
    # Where there is no COPY (SQLite), the ORM stores the same figures.
    Assessment.published.update(public_value=None, revised=False, first_published_release=None)
    settings.RETURN_SQL_FAST_PATH = False
    assert published_figures_store(release=releases.first) + published_figures_store(
        release=releases.second
    ) == len(before)
    pd.testing.assert_frame_equal(_stored_frame(), before)
