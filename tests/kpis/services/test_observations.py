"""Observation versions: a correction adds a version, history is never overwritten."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from kpis.models import Observation
from kpis.selectors.observations import (
    observation_first_published,
    observation_history,
    observation_is_revised,
)
from kpis.services.observations import (
    ObservationValues,
    observation_record,
    observations_publish,
)
from tests.strategy.factories import UserFactory


def values(numerator, denominator):
    return ObservationValues(
        numerator=Decimal(numerator),
        denominator=Decimal(denominator),
        value=Decimal(numerator) * 100 / Decimal(denominator),
    )


def test_a_correction_is_a_new_version_and_the_old_one_is_kept(series, period):
    lead = UserFactory()
    first = observation_record(series=series, period=period, values=values(12, 20))
    second = observation_record(
        series=series,
        period=period,
        values=values(13, 20),
        recorded_by=lead,
        change_reason="late referral recorded",
    )
    history = list(observation_history(series=series, period=period))
    assert [(o.version, o.is_current, o.numerator) for o in history] == [
        (1, False, Decimal(12)),
        (2, True, Decimal(13)),
    ]
    assert history[1].recorded_by == lead and first.pk == history[0].pk
    assert second.change_reason == "late referral recorded"


def test_recording_the_same_value_again_changes_nothing(series, period):
    observation_record(series=series, period=period, values=values(12, 20))
    assert observation_record(series=series, period=period, values=values(12, 20)) is None
    assert Observation.objects.filter(series=series).count() == 1


def test_first_published_value_survives_a_revision(series, period):
    published = observation_record(series=series, period=period, values=values(12, 20))
    observations_publish(
        observation_ids=[published.pk], published_at=datetime(2023, 12, 1, tzinfo=UTC)
    )
    assert observation_is_revised(series=series, period=period) is False
    corrected = observation_record(series=series, period=period, values=values(14, 20))
    observations_publish(
        observation_ids=[corrected.pk], published_at=datetime(2024, 1, 5, tzinfo=UTC)
    )
    first = observation_first_published(series=series, period=period)
    assert first.pk == published.pk and first.numerator == Decimal(12)
    assert observation_is_revised(series=series, period=period) is True
    # Publishing again never moves a version's first-published time.
    observations_publish(
        observation_ids=[published.pk], published_at=datetime(2024, 2, 1, tzinfo=UTC)
    )
    published.refresh_from_db()
    assert published.published_at == datetime(2023, 12, 1, tzinfo=UTC)


def test_recording_marks_the_series_for_recomputation(series, period):
    series.needs_recompute = False
    series.save()
    observation_record(series=series, period=period, values=values(12, 20))
    series.refresh_from_db()
    assert series.needs_recompute is True


def test_the_database_allows_only_one_current_version(series, period):
    from django.utils import timezone

    observation_record(series=series, period=period, values=values(12, 20))
    with pytest.raises(IntegrityError), transaction.atomic():
        Observation.objects.create(
            series=series, period=period, version=9, is_current=True, recorded_at=timezone.now()
        )
