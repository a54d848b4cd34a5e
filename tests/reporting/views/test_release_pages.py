"""Release pages: the group announces and publishes; named people see figures early."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from kpis.models import Observation, Release, ReleaseAccess, ReturnUpload
from strategy.access import Role
from tests.kpis.factories import ObservationFactory, ReleaseFactory, ReturnUploadFactory


def test_the_group_announces_a_release_of_chosen_returns(client, sig, make_user):
    upload = ReturnUploadFactory(state=ReturnUpload.State.APPROVED)
    ObservationFactory(approved=True, source_upload=upload)
    director = make_user("director", Role.ANALYST)
    client.force_login(sig)
    form = client.get(reverse("reporting:release-new")).content.decode()
    assert upload.original_name in form  # approved returns holding unpublished values
    when = (timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("reporting:release-new"),
        {
            "title": "Quarter 2 outcomes",
            "scheduled_for": when,
            "uploads": [upload.pk],
            "pre_release": [director.pk],
        },
    )
    release = Release.objects.get(title="Quarter 2 outcomes")
    assert response.status_code == 302
    assert list(release.uploads.all()) == [upload]
    page = client.get(reverse("reporting:release-detail", args=[release.pk])).content.decode()
    assert "Return: " + upload.original_name in page
    assert "director" in page and "Not yet" in page
    calendar = client.get(reverse("reporting:releases")).content.decode()
    assert "Quarter 2 outcomes" in calendar and "Announce a release" in calendar


def test_a_release_in_the_past_is_refused_with_a_reason(client, sig):
    client.force_login(sig)
    response = client.post(
        reverse("reporting:release-new"),
        {"title": "Late", "scheduled_for": "2020-01-01T09:30"},
    )
    assert response.status_code == 400
    assert "announced in advance" in response.content.decode()
    assert not Release.objects.filter(title="Late").exists()


def test_others_cannot_announce_or_open_a_release(client, lead, make_user):
    release = ReleaseFactory()
    for user in (lead, make_user("analyst", Role.ANALYST)):
        client.force_login(user)
        assert client.get(reverse("reporting:release-new")).status_code == 403
        assert client.get(reverse("reporting:release-detail", args=[release.pk])).status_code == 403
        assert (
            client.post(reverse("reporting:release-publish", args=[release.pk])).status_code == 403
        )
    client.logout()
    assert client.get(reverse("reporting:release-new")).status_code == 302


def test_a_named_person_sees_the_figures_and_the_viewing_is_recorded(client, sig, make_user):
    ObservationFactory(approved=True)
    director = make_user("director", Role.ANALYST)
    release = ReleaseFactory()
    ReleaseAccess.objects.create(
        release=release, user=director, granted_by=sig, granted_at=timezone.now()
    )
    client.force_login(director)
    page = client.get(reverse("reporting:release-detail", args=[release.pk])).content.decode()
    assert "Figures before release" in page and "Your viewing is recorded" in page
    assert ReleaseAccess.objects.get(release=release).first_seen_at is not None


def test_publishing_when_due_makes_the_values_public(client, sig):
    value = ObservationFactory(approved=True)
    release = ReleaseFactory(
        announced_at=timezone.now() - timedelta(days=8),
        scheduled_for=timezone.now() - timedelta(minutes=1),
    )
    client.force_login(sig)
    detail = client.get(reverse("reporting:release-detail", args=[release.pk])).content.decode()
    assert "Publish now" in detail
    client.post(reverse("reporting:release-publish", args=[release.pk]))
    value = Observation.objects.get(pk=value.pk)
    assert value.release == release and value.published_at is not None
