"""Numbers as the database stores them (pure: no ORM)."""

from __future__ import annotations

from decimal import Decimal


def decimal_6dp(value) -> Decimal | None:
    """A number as the database stores it (6 decimal places); missing stays None."""
    return None if value is None or value != value else Decimal(str(round(float(value), 6)))
