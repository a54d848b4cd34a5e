"""Releases made in the service: what they contain, corrections, and pre-release access."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kpis.models import AuditEvent, Observation, ReleaseAccess, ReturnUpload
from kpis.services.releases import (
    ReleaseContents,
    release_pre_release_view,
    release_publish,
    release_schedule,
)
from strategy.access import Role
from tests.kpis.factories import NationalPublicationFactory, ObservationFactory, ReturnUploadFactory
from tests.strategy.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sig():
    return UserFactory(roles=[Role.SIG_MEMBER])


def approved_value(**kwargs):
    return ObservationFactory(approved=True, **kwargs)


def week_ahead():
    return timezone.now() + timedelta(days=7)


def test_a_release_publishes_only_what_it_was_made_of(sig):
    upload = ReturnUploadFactory(state=ReturnUpload.State.APPROVED)
    from_return = approved_value(source_upload=upload)
    publication = NationalPublicationFactory()
    from_publication = approved_value(source_publication=publication)
    of_kpi = approved_value()
    old = approved_value(recorded_at=timezone.now() - timedelta(days=30))
    other = approved_value()
    release = release_schedule(
        title="Q2",
        scheduled_for=week_ahead(),
        user=sig,
        contents=ReleaseContents(
            uploads=[upload],
            kpis=[of_kpi.series.kpi],
            publications=[publication],
            approved_up_to=timezone.now() - timedelta(days=10),
        ),
    )
    assert release_publish(release=release, user=sig, now=release.scheduled_for) == 4
    published = set(Observation.objects.filter(release=release).values_list("pk", flat=True))
    assert published == {from_return.pk, from_publication.pk, of_kpi.pk, old.pk}
    other.refresh_from_db()
    assert other.release is None and other.published_at is None


def test_a_release_of_nothing_chosen_publishes_everything_approved(sig):
    values = [approved_value(), approved_value()]
    ObservationFactory(approved=False)
    release = release_schedule(title="All", scheduled_for=week_ahead(), user=sig)
    assert release_publish(release=release, user=sig, now=release.scheduled_for) == len(values)


def test_only_approved_returns_are_chosen(sig):
    submitted = ReturnUploadFactory(state=ReturnUpload.State.SUBMITTED)
    with pytest.raises(ValidationError, match="Only approved returns"):
        release_schedule(
            title="Q2",
            scheduled_for=week_ahead(),
            user=sig,
            contents=ReleaseContents(uploads=[submitted]),
        )


def test_a_correction_names_a_published_release_and_what_it_corrects(sig):
    approved_value()
    first = release_schedule(title="Q1", scheduled_for=week_ahead(), user=sig)
    with pytest.raises(ValidationError, match="has been published"):
        release_schedule(
            title="Fix", scheduled_for=week_ahead(), user=sig, corrects=first, correction_note="x"
        )
    release_publish(release=first, user=sig, now=first.scheduled_for)
    first.refresh_from_db()
    with pytest.raises(ValidationError, match="Say what the correction corrects"):
        release_schedule(title="Fix", scheduled_for=week_ahead(), user=sig, corrects=first)
    correction = release_schedule(
        title="Q1 corrected",
        scheduled_for=week_ahead(),
        user=sig,
        corrects=first,
        correction_note="Thurrock's Q1 count was entered as 450; it is 45.",
    )
    assert correction.kind == "correction" and correction.corrects == first


def test_named_people_see_the_figures_early_and_when_is_recorded(sig):
    approved_value()
    director = UserFactory(roles=[Role.ANALYST])
    stranger = UserFactory(roles=[Role.ANALYST])
    release = release_schedule(
        title="Q2", scheduled_for=week_ahead(), user=sig, pre_release=[director]
    )
    access = ReleaseAccess.objects.get(release=release)
    assert (access.user, access.granted_by, access.first_seen_at) == (director, sig, None)
    assert release_pre_release_view(release=release, user=director).count() == 1
    access.refresh_from_db()
    first_seen = access.first_seen_at
    assert first_seen is not None and access.last_seen_at == first_seen
    release_pre_release_view(release=release, user=director)
    access.refresh_from_db()
    assert access.first_seen_at == first_seen and access.last_seen_at > first_seen
    with pytest.raises(PermissionDenied):
        release_pre_release_view(release=release, user=stranger)
    assert AuditEvent.objects.filter(action="pre_release_access", actor=director).count() == 2
    assert AuditEvent.objects.filter(action="release_scheduled", actor=sig).exists()


def test_place_leads_and_analysts_do_not_make_releases():
    for role in (Role.PLACE_LEAD, Role.ANALYST):
        with pytest.raises(PermissionDenied):
            release_schedule(title="No", scheduled_for=week_ahead(), user=UserFactory(roles=[role]))
