"""The published read model: the public reads only what a release published, as of any release;
the internal side sees every current value, each marked published, approved or unapproved."""

from datetime import UTC, date, datetime, timedelta

import pytest

from kpis.models import Assessment, Kpi, Observation, Release, Series
from kpis.selectors.public import published_assessments, published_release_get
from kpis.services.observations import (
    series_get_or_create,
)
from kpis.services.progress import progress_recompute, published_assessments_compute
from kpis.services.releases import release_publish
from strategy.access import Role
from strategy.models import Place
from strategy.services import user_create
from tests.kpis.observation_helpers import record

AS_OF = date(2024, 6, 30)
START = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)


def release(title: str, at: datetime) -> Release:
    return Release.objects.create(title=title, scheduled_for=at, announced_at=at - timedelta(28))


@pytest.fixture
def sig(strategy_data):
    return user_create(
        username="publisher", password="correct horse battery staple", roles=[Role.SIG_MEMBER]
    )


@pytest.fixture
def series(catalogue_data):
    recovery = Kpi.objects.get(code="TT-RECOVERY")
    southend = Place.objects.get(code="sub-icb-99g")
    return {
        "recovery": series_get_or_create(kpi=recovery, place=southend),
        "eip": series_get_or_create(kpi=Kpi.objects.get(code="EIP-2WK"), place=southend),
    }


def public_values(**kwargs) -> dict[tuple[str, str], float]:
    return {(a.series.kpi.code, a.period.label): a.value for a in published_assessments(**kwargs)}


def test_the_public_reads_only_published_figures_as_of_each_release(series, sig):
    recovery, eip = series["recovery"], series["eip"]
    record(recovery, "Apr 2023", 30, 60, approved=True)
    record(eip, "3 months to Jun 2023", 6, 10, approved=True)
    first = release("First", START)
    assert release_publish(release=first, user=sig, now=START) == 2
    assert public_values() == {
        ("TT-RECOVERY", "Apr 2023"): 50.0,
        ("EIP-2WK", "3 months to Jun 2023"): 60.0,
    }

    # After the first release: a correction, a new approved value and an unapproved one.
    record(recovery, "Apr 2023", 36, 60, approved=True)
    record(recovery, "May 2023", 33, 60, approved=True)
    record(recovery, "Jun 2023", 40, 60, approved=False)
    assert public_values() == {
        ("TT-RECOVERY", "Apr 2023"): 50.0,
        ("EIP-2WK", "3 months to Jun 2023"): 60.0,
    }

    second = release("Second", START + timedelta(days=30))
    assert release_publish(release=second, user=sig, now=START + timedelta(days=30)) == 2
    # The correction (36/60) and May are published; June, never approved, is not. EIP-2WK had
    # nothing new, so the public still reads it as the first release published it.
    assert public_values() == {
        ("TT-RECOVERY", "Apr 2023"): 60.0,
        ("TT-RECOVERY", "May 2023"): 55.0,
        ("EIP-2WK", "3 months to Jun 2023"): 60.0,
    }
    assert {a.release_id for a in published_assessments() if a.series_id == eip.pk} == {first.pk}
    # As the first release left them: the value first published, nothing later.
    assert public_values(as_of=first) == {
        ("TT-RECOVERY", "Apr 2023"): 50.0,
        ("EIP-2WK", "3 months to Jun 2023"): 60.0,
    }
    assert public_values(as_of=second) == public_values()


def test_no_unpublished_value_reaches_the_public_read_at_all(series, sig):
    recovery = series["recovery"]
    record(recovery, "Apr 2023", 30, 60, approved=True)
    published = release("Published", START)
    release_publish(release=published, user=sig, now=START)
    record(recovery, "May 2023", 45, 60, approved=True)  # approved, awaiting release
    pending = release("Announced, not yet published", START + timedelta(days=60))
    # Published assessments of a release not yet published are never read, even if stored.
    with pytest.raises(Exception, match="Only a published release"):
        published_assessments_compute(release=pending)
    assert published_release_get(release_id=pending.pk) is None
    assert published_assessments(as_of=pending).count() == 0
    labels = {a.period.label for a in published_assessments()}
    assert labels == {"Apr 2023"}
    # Internal assessments exist for both periods but are never returned to the public.
    progress_recompute(series_ids=[recovery.pk], as_of=AS_OF)
    assert Assessment.objects.filter(series=recovery, scope="internal").count() == 2
    assert Assessment.published.filter(scope="internal").count() == 0


def test_internal_assessments_mark_each_value_published_approved_or_not(series, sig):
    recovery = series["recovery"]
    record(recovery, "Apr 2023", 30, 60, approved=True)
    release_publish(release=release("First", START), user=sig, now=START)
    record(recovery, "May 2023", 33, 60, approved=True)
    record(recovery, "Jun 2023", 40, 60, approved=False)
    progress_recompute(series_ids=[recovery.pk], as_of=AS_OF)
    status = dict(
        Assessment.objects.filter(series=recovery, scope="internal").values_list(
            "period__label", "value_status"
        )
    )
    assert status == {"Apr 2023": "published", "May 2023": "approved", "Jun 2023": "unapproved"}
    # A correction of a published value is approved, awaiting release, until it is released.
    record(recovery, "Apr 2023", 36, 60, approved=True)
    progress_recompute(series_ids=[recovery.pk], as_of=AS_OF)
    april = Assessment.objects.get(series=recovery, scope="internal", period__label="Apr 2023")
    assert (april.value, april.value_status) == (60.0, "approved")


def test_publishing_moves_the_series_public_read_in_the_same_transaction(series, sig):
    recovery = series["recovery"]
    record(recovery, "Apr 2023", 30, 60, approved=True)
    first = release("First", START)
    release_publish(release=first, user=sig, now=START)
    assert Series.objects.get(pk=recovery.pk).published_release_id == first.pk
    assert Observation.objects.get(series=recovery).release_id == first.pk
    # A release publishes once: publishing again changes nothing.
    assert release_publish(release=first, user=sig, now=START) == 0
    assert Assessment.published.filter(release=first).count() == 1


def test_the_public_read_costs_one_query_however_many_series(series, sig):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    recovery = Kpi.objects.get(code="TT-RECOVERY")
    record(series["recovery"], "Apr 2023", 30, 60, approved=True)
    release_publish(release=release("First", START), user=sig, now=START)

    def read():
        with CaptureQueriesContext(connection) as queries:
            rows = [(a.series.place.code, a.period.label, a.value) for a in published_assessments()]
        return rows, len(queries)

    one, queries_for_one = read()
    for code in ("sub-icb-06q", "sub-icb-99e", "sub-icb-99f", "sub-icb-07g"):
        place = Place.objects.get(code=code)
        for month in ("Apr 2023", "May 2023", "Jun 2023"):
            record(series_get_or_create(kpi=recovery, place=place), month, 30, 60, approved=True)
    later = START + timedelta(days=30)
    release_publish(release=release("Second", later), user=sig, now=later)
    many, queries_for_many = read()
    assert (len(one), len(many)) == (1, 13)
    assert queries_for_one == queries_for_many == 1
