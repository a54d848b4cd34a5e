"""Vintages: each release's figures as it published them, and for each value whether it differs
from the one first published, with the releases that first published and last changed it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kpis.models import Kpi, Release
from kpis.selectors.vintages import release_changes, release_figures, release_previous_published
from kpis.services.observations import series_get_or_create
from kpis.services.releases import release_schedule
from strategy.models import Place
from tests.kpis.observation_helpers import record
from tests.kpis.release_helpers import publish


@pytest.fixture
def recovery(catalogue_data):
    return series_get_or_create(
        kpi=Kpi.objects.get(code="TT-RECOVERY"), place=Place.objects.get(code="sub-icb-99g")
    )


def vintages(release: Release) -> dict[str, tuple]:
    frame = release_figures(release=release)
    return {
        row.period_label: (
            None if row.value != row.value else row.value,
            row.revised,
            None
            if row.first_published_value != row.first_published_value
            else row.first_published_value,
            row.first_published_release,
            row.revised_in_release,
        )
        for row in frame.itertuples()
    }


def test_revisions_are_marked_with_the_first_value_and_the_release_that_changed_it(recovery, sig):
    record(recovery, "Apr 2023", 30, 60, approved=True)  # 50%
    record(recovery, "May 2023", 30, 60, approved=True)  # 50%
    record(recovery, "Jun 2023", 3, 60, approved=True)  # suppressed: fewer than 5
    first = publish("First", user=sig, days=1)
    record(recovery, "Apr 2023", 36, 60, approved=True)  # 60%
    record(recovery, "May 2023", 36, 60, approved=True)  # 60%
    record(recovery, "Jun 2023", 30, 60, approved=True)  # 50%, now shown
    second = publish("Second", user=sig, days=2)
    record(recovery, "Apr 2023", 42, 60, approved=True)  # 70%
    record(recovery, "May 2023", 30, 60, approved=True)  # back to 50%
    third = publish("Third", user=sig, days=3)

    assert vintages(first) == {
        "Apr 2023": (50.0, False, 50.0, "First", ""),
        "May 2023": (50.0, False, 50.0, "First", ""),
        "Jun 2023": (None, False, None, "First", ""),
    }
    assert vintages(second) == {
        "Apr 2023": (60.0, True, 50.0, "First", "Second"),
        "May 2023": (60.0, True, 50.0, "First", "Second"),
        # First published suppressed: the first value stays blank, never the hidden one.
        "Jun 2023": (50.0, True, None, "First", "Second"),
    }
    assert vintages(third) == {
        "Apr 2023": (70.0, True, 50.0, "First", "Third"),
        "May 2023": (50.0, False, 50.0, "First", ""),  # the same as first published
        "Jun 2023": (50.0, True, None, "First", "Second"),
    }
    assert release_previous_published(release=third) == second
    assert release_previous_published(release=second) == first
    # Releases other tests leave published (the demo data's, say) would come before the first.
    Release.objects.filter(published_at__lt=first.published_at).update(published_at=None)
    assert release_previous_published(release=first) is None
    changes = release_changes(release=third)
    assert changes.new.empty
    assert changes.revised["period_label"].tolist() == ["Apr 2023", "May 2023"]
    assert changes.revised["value_before"].tolist() == [60.0, 60.0]
    assert changes.revised["value_release_before"].tolist() == ["Second", "Second"]


def test_a_release_not_published_has_no_figures_and_no_previous(recovery, sig):
    record(recovery, "Apr 2023", 30, 60, approved=True)
    publish("First", user=sig, days=1)
    pending = release_schedule(
        title="Pending", scheduled_for=timezone.now() + timedelta(days=9), user=sig
    )
    assert release_figures(release=pending).empty
    assert release_previous_published(release=pending) is None


def test_a_release_s_figures_cost_two_queries(recovery, sig, django_assert_num_queries):
    record(recovery, "Apr 2023", 30, 60, approved=True)
    release = publish("First", user=sig, days=1)
    with django_assert_num_queries(2):
        release_figures(release=release)
