"""Commentary: KPI owners and place leads say what lies behind a KPI's figures at a place for
a period, and what is being done.

Every post is kept as a row (the history); the latest per KPI, place and period is current.
The rows are the record, so no audit event is written besides them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from strategy.access import Action, user_can
from strategy.models import Place, User

from ..models import Commentary, Kpi, Period
from ..selectors.commentary import is_kpi_owner

WRITE_REFUSAL = (
    "Commentary is written by the KPI's owner organisation, the place's lead and the "
    "Strategy Implementation Group."
)


def commentary_may_write(user, kpi: Kpi, place: Place | int) -> bool:
    """The group and administrators anywhere, place leads for their granted places, and the
    KPI's owner organisation for any place."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_kpi_owner(user, kpi) or user_can(user, Action.WRITE_COMMENTARY, place)


@transaction.atomic
def commentary_post(*, user: User, kpi: Kpi, place: Place, period: Period, text: str) -> Commentary:
    """Record a commentary; it becomes the current one, the earlier stay as history."""
    if not commentary_may_write(user, kpi, place):
        raise PermissionDenied(WRITE_REFUSAL)
    # Browsers send line breaks as CRLF but count them as one character against maxlength.
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("Write the commentary: it cannot be blank.")
    if len(text) > Commentary.MAX_LENGTH:
        raise ValidationError(
            f"Keep the commentary to {Commentary.MAX_LENGTH:,} characters: "
            f"this one has {len(text):,}."
        )
    commentary = Commentary(
        kpi=kpi, place=place, period=period, text=text, author=user, recorded_at=timezone.now()
    )
    commentary.full_clean()
    commentary.save()
    return commentary
