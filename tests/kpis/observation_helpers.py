"""Recording a percentage observation in one line, for tests of the engine and releases."""

from decimal import Decimal

from kpis.periods import parse_period
from kpis.services.observations import ObservationValues, observation_record, period_get_or_create


def record(series, label: str, numerator, denominator, *, approved: bool = False):
    """A new version of ``series``' value for the period ``label``: numerator / denominator
    as a percentage, stored to six decimal places as the database keeps it."""
    return observation_record(
        series=series,
        period=period_get_or_create(parse_period(label)),
        values=ObservationValues(
            numerator=Decimal(numerator),
            denominator=Decimal(denominator),
            value=(Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.000001")),
        ),
        approved=approved,
    )
