"""The progress engine against PostgreSQL, and through Redis to a real worker."""

import time
from datetime import date
from decimal import Decimal

import pytest

from kpis.models import Assessment, Kpi, Series, VerdictRuleTable
from kpis.periods import parse_period
from kpis.services.observations import (
    ObservationValues,
    observation_record,
    period_get_or_create,
    series_get_or_create,
)
from kpis.services.progress import (
    progress_recompute,
    progress_recompute_dirty,
    series_claim_dirty,
    verdict_rules_publish,
)
from strategy.models import Place
from tests.kpis.observation_helpers import record

AS_OF = date(2024, 6, 30)


@pytest.fixture
def eip_series(catalogue_data):
    kpi = Kpi.objects.get(code="TT-RECOVERY")
    southend = series_get_or_create(kpi=kpi, place=Place.objects.get(code="sub-icb-99g"))
    total = series_get_or_create(kpi=kpi, place=Place.objects.get(code="set-registered"))
    return southend, total


def test_recompute_stores_one_assessment_per_period_with_the_verdict(eip_series):
    southend, total = eip_series
    for month, numerator in (("Apr 2023", 30), ("May 2023", 32), ("Jun 2023", 35)):
        record(southend, month, numerator, 60)
        record(total, month, numerator * 5, 300)
    written = progress_recompute(series_ids=[southend.pk], as_of=AS_OF)
    assert written == 3
    stored = Assessment.objects.filter(series=southend).order_by("period__end")
    assert [a.period.label for a in stored] == ["Apr 2023", "May 2023", "Jun 2023"]
    latest = stored.last()
    assert latest.is_latest and latest.value == pytest.approx(35 / 60 * 100)
    # Talking Therapies recovery has a 50% standard: met in all three months.
    assert latest.target_kind == "threshold" and latest.target_value == 50
    assert latest.periods_met_share == 1.0
    assert latest.verdict and latest.rule_table.is_active


def test_recompute_is_idempotent(eip_series):
    southend, _ = eip_series
    record(southend, "Apr 2023", 30, 60)
    record(southend, "May 2023", 20, 60)
    progress_recompute(series_ids=[southend.pk], as_of=AS_OF)
    first = list(Assessment.objects.filter(series=southend).values("period_id", "verdict", "value"))
    progress_recompute(series_ids=[southend.pk], as_of=AS_OF)
    again = list(Assessment.objects.filter(series=southend).values("period_id", "verdict", "value"))
    assert sorted(first, key=str) == sorted(again, key=str)


def test_a_new_observation_marks_the_series_and_enqueues_a_recompute(
    eip_series, django_capture_on_commit_callbacks
):
    southend, _ = eip_series
    Series.objects.filter(pk=southend.pk).update(needs_recompute=False)
    with django_capture_on_commit_callbacks() as callbacks:
        record(southend, "Apr 2023", 30, 60)
    southend.refresh_from_db()
    assert southend.needs_recompute
    assert len(callbacks) == 1


def test_claiming_clears_flags_and_a_second_claim_gets_nothing(eip_series):
    Series.objects.update(needs_recompute=False)
    southend, total = eip_series
    Series.objects.filter(pk__in=[southend.pk, total.pk]).update(needs_recompute=True)
    assert sorted(series_claim_dirty(limit=10)) == sorted([southend.pk, total.pk])
    assert series_claim_dirty(limit=10) == []


def test_dirty_batches_run_until_none_remain(eip_series):
    Series.objects.update(needs_recompute=False)
    southend, total = eip_series
    other = series_get_or_create(
        kpi=Kpi.objects.get(code="TT-ACCESS"), place=Place.objects.get(code="sub-icb-99g")
    )
    record(southend, "Apr 2023", 30, 60)
    record(total, "Apr 2023", 150, 300)
    record(other, "Apr 2023", 40, 1000)
    # A batch of one series takes its KPI's other dirty series too: the KPI is assessed whole,
    # so the two batches are the two KPIs (two series of recovery, one of access).
    first = progress_recompute_dirty(batch_size=1, as_of=AS_OF)
    second = progress_recompute_dirty(batch_size=1, as_of=AS_OF)
    assert (first[1], second[1]) == (True, False)
    assert sorted([first[0], second[0]]) == [1, 2]
    assert Assessment.objects.filter(series__in=[southend, total, other]).count() == 3


def test_changing_the_rule_table_is_a_new_version_and_recomputes_everything(eip_series):
    Series.objects.update(needs_recompute=False)
    before = VerdictRuleTable.objects.get(is_active=True)
    table = verdict_rules_publish(
        rules=[{"when": {}, "verdict": "no_significant_change", "reason": "flat"}], note="test"
    )
    assert table.version == before.version + 1 and table.is_active
    before.refresh_from_db()
    assert not before.is_active
    assert not Series.objects.filter(needs_recompute=False).exists()


def test_rules_naming_unknown_fields_are_refused(catalogue_data):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="unknown conditions"):
        verdict_rules_publish(rules=[{"when": {"colour": ["red"]}, "verdict": "x"}])


@pytest.mark.worker
def test_a_recorded_value_is_recomputed_by_a_real_worker_through_redis(
    celery_worker, catalogue_data
):
    kpi = Kpi.objects.get(code="TT-RECOVERY")
    series = series_get_or_create(kpi=kpi, place=Place.objects.get(code="sub-icb-99g"))
    Series.objects.exclude(pk=series.pk).update(needs_recompute=False)
    record(series, "Apr 2023", 30, 60)  # commits, then enqueues progress_recompute_task
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not Assessment.objects.filter(series=series).exists():
        time.sleep(0.2)
    assessment = Assessment.objects.get(series=series)
    assert assessment.value == pytest.approx(50.0)
    series.refresh_from_db()
    assert not series.needs_recompute and series.computed_at is not None


@pytest.fixture
def dirty_series(catalogue_data):
    kpi = Kpi.objects.get(code="TT-RECOVERY")
    series = series_get_or_create(kpi=kpi, place=Place.objects.get(code="sub-icb-99g"))
    observation_record(
        series=series,
        period=period_get_or_create(parse_period("Apr 2023")),
        values=ObservationValues(numerator=Decimal(30), denominator=Decimal(60)),
    )
    Series.objects.exclude(pk=series.pk).update(needs_recompute=False)
    return series


def test_a_batch_whose_computation_fails_keeps_its_dirty_flags(dirty_series):
    # With no active rule table the computation raises after the batch was claimed.
    VerdictRuleTable.objects.update(is_active=False)
    with pytest.raises(Exception, match="No verdict rule table is active"):
        progress_recompute_dirty(batch_size=10, as_of=date(2024, 6, 30))
    assert Series.objects.get(pk=dirty_series.pk).needs_recompute is True
    # Once the fault is mended the next batch takes the series and clears its flag.
    VerdictRuleTable.objects.filter(version=1).update(is_active=True)
    assert progress_recompute_dirty(batch_size=10, as_of=date(2024, 6, 30)) == (1, False)
    assert Series.objects.get(pk=dirty_series.pk).needs_recompute is False


def test_publishing_verdict_rules_marks_every_series_and_enqueues_a_recompute(
    dirty_series, django_capture_on_commit_callbacks
):
    Series.objects.update(needs_recompute=False)
    with django_capture_on_commit_callbacks() as callbacks:
        table = verdict_rules_publish(rules=[{"verdict": "no_concern"}], note="flat")
    assert table.is_active and table.version == 2
    assert not Series.objects.filter(needs_recompute=False).exists()
    # Each callback sends one task: the task is its first argument.
    names = [c.args[0].name for c in callbacks]
    assert names == ["kpis.tasks.progress_recompute_task"]


def _stored(series) -> list[dict]:
    rows = Assessment.objects.filter(series=series).order_by("scope", "period__end")
    return [
        {k: v for k, v in row.items() if k not in ("id", "computed_at")} for row in rows.values()
    ]


def test_copy_stores_exactly_what_the_orm_stores(eip_series, settings):
    """PostgreSQL takes assessments by COPY; every column must be what the ORM would save,
    nulls, blanks and defaults included."""
    southend, total = eip_series
    for month, numerator in (("Apr 2023", 30), ("May 2023", 3), ("Jun 2023", 35)):
        record(southend, month, numerator, 60)
        record(total, month, numerator * 5, 300)
    settings.RETURN_SQL_FAST_PATH = False
    progress_recompute(series_ids=[southend.pk, total.pk], as_of=AS_OF)
    by_orm = _stored(southend) + _stored(total)
    settings.RETURN_SQL_FAST_PATH = True
    progress_recompute(series_ids=[southend.pk, total.pk], as_of=AS_OF)
    by_copy = _stored(southend) + _stored(total)
    assert len(by_copy) == 6
    assert by_copy == by_orm
    # Blank text, false flags and nulls as the ORM writes them, not the text "None" or "nan".
    # May 2023 at Southend, 3 of 60: fewer than 5, suppressed on public outputs.
    assert [row["suppression_reason"] for row in by_copy[:3]] == ["", "fewer than 5", ""]
    assert by_copy[0]["release_id"] is None and by_copy[0]["public_version"] is None
    assert by_copy[0]["value"] == pytest.approx(50.0)
