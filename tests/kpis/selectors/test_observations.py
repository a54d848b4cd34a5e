"""Reads of observation versions: frames of current values for the engine and pages."""

from decimal import Decimal

from kpis.selectors.observations import observations_frame
from tests.kpis.factories import ObservationFactory


def test_observations_frame_holds_current_values_from_one_query(
    series, period, django_assert_num_queries
):
    ObservationFactory(
        series=series,
        period=period,
        version=1,
        is_current=False,
        numerator=Decimal(12),
        denominator=Decimal(20),
        value=Decimal(60),
    )
    ObservationFactory(
        series=series,
        period=period,
        version=2,
        numerator=Decimal(15),
        denominator=Decimal(20),
        value=Decimal(75),
    )
    with django_assert_num_queries(1):
        frame = observations_frame(series_ids=[series.pk])
    assert frame[["kpi", "place", "label", "numerator", "value"]].to_dict("records") == [
        {
            "kpi": series.kpi.code,
            "place": series.place.code,
            "label": "2023-24 Q2",
            "numerator": 15.0,
            "value": 75.0,
        }
    ]
