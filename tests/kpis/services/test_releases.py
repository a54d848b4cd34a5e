"""Releases and pre-release access: approved values become public only in a release."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kpis.models import AuditEvent, Observation, ReturnUpload
from kpis.services.releases import pre_release_figures, release_publish, release_schedule
from strategy.access import Role
from tests.kpis.factories import ObservationFactory, ReturnRowFactory, ReturnUploadFactory
from tests.strategy.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sig():
    return UserFactory(roles=[Role.SIG_MEMBER])


def approved_return():
    """An approved return whose one value is stored, approved and awaiting a release."""
    upload = ReturnUploadFactory(state=ReturnUpload.State.APPROVED)
    ObservationFactory(source_upload=upload, source_row=3, approved=True)
    return upload


def test_only_approved_values_reach_a_release_at_its_announced_time(sig):
    approved = approved_return()
    pending = ReturnRowFactory(upload__state=ReturnUpload.State.VALIDATED).upload
    assert pending.state == "validated"  # staged, never approved
    ObservationFactory(approved=False)  # recorded, say by a load, but not approved
    release = release_schedule(
        title="Q3 outcomes", scheduled_for=timezone.now() + timedelta(days=7), user=sig
    )
    with pytest.raises(ValidationError, match="not due yet"):
        release_publish(release=release, user=sig)
    published = release_publish(release=release, user=sig, now=release.scheduled_for)
    in_release = Observation.objects.filter(release=release)
    assert published == in_release.count() == 1
    assert set(in_release.values_list("source_upload_id", flat=True)) == {approved.pk}
    assert not in_release.filter(approved=False).exists()
    # Publishing twice changes nothing.
    assert release_publish(release=release, user=sig, now=release.scheduled_for) == 0


def test_releases_are_announced_in_advance(sig):
    with pytest.raises(ValidationError, match="in advance"):
        release_schedule(title="late", scheduled_for=timezone.now() - timedelta(hours=1), user=sig)


def test_pre_release_access_is_for_named_roles_and_recorded(sig):
    approved_return()
    figures = pre_release_figures(user=sig, purpose="board paper")
    assert figures.count() == 1
    event = AuditEvent.objects.get(action="pre_release_access")
    assert (event.actor, event.detail["purpose"]) == (sig, "board paper")
    for role in (Role.PLACE_LEAD, Role.ANALYST):
        with pytest.raises(PermissionDenied):
            pre_release_figures(user=UserFactory(roles=[role]), purpose="curious")
