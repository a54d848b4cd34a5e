"""Published releases made through the product's own services, for the release data tests:
values recorded and approved, a release announced and published at its time, then a second
release revising one value, and a third announced but not yet published."""

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from kpis.models import Kpi, Release
from kpis.services.observations import series_get_or_create
from kpis.services.releases import release_publish, release_schedule
from strategy.models import Place
from tests.kpis.observation_helpers import record

# A title a spreadsheet would run as a formula, were it not neutralised.
FORMULA_TITLE = '=HYPERLINK("http://example.org","EIP")'


def publish(title: str, *, user, days: int) -> Release:
    """Announce a release ``days`` ahead, then publish it at its announced time."""
    release = release_schedule(
        title=title, scheduled_for=timezone.now() + timedelta(days=days), user=user
    )
    release_publish(release=release, user=user, now=release.scheduled_for)
    release.refresh_from_db()
    return release


def two_releases_and_a_pending_one(sig) -> SimpleNamespace:
    """Southend's Talking Therapies recovery (a proportion; NHS England rounds counts to 5 and
    suppresses those below 5) and early intervention in psychosis (the same rule):

    - "Quarter 1 outcomes": recovery April 30/60 (50%), May 3/60 (suppressed), early
      intervention 6/10 (60%; 6 shown as 5), under a title starting with "=".
    - "Quarter 2 outcomes": April revised to 54/60 (90%; 54 shown as 55), June 40/60 new.
    - "Quarter 3 outcomes": announced, not published; July 45/60 approved, awaiting it.
    """
    southend = Place.objects.get(code="sub-icb-99g")
    Kpi.objects.filter(code="EIP-2WK").update(title=FORMULA_TITLE)
    recovery = series_get_or_create(kpi=Kpi.objects.get(code="TT-RECOVERY"), place=southend)
    eip = series_get_or_create(kpi=Kpi.objects.get(code="EIP-2WK"), place=southend)
    record(recovery, "Apr 2023", 30, 60, approved=True)
    record(recovery, "May 2023", 3, 60, approved=True)
    record(eip, "3 months to Jun 2023", 6, 10, approved=True)
    first = publish("Quarter 1 outcomes", user=sig, days=1)
    record(recovery, "Apr 2023", 54, 60, approved=True)
    record(recovery, "Jun 2023", 40, 60, approved=True)
    second = publish("Quarter 2 outcomes", user=sig, days=30)
    record(recovery, "Jul 2023", 45, 60, approved=True)
    pending = release_schedule(
        title="Quarter 3 outcomes", scheduled_for=timezone.now() + timedelta(days=90), user=sig
    )
    return SimpleNamespace(first=first, second=second, pending=pending, sig=sig)
