"""The audit log is appended to and never edited or deleted through the application."""

import pytest
from django.db.models.deletion import ProtectedError

from kpis.models import AppendOnlyError, AuditEvent
from kpis.services.audit import audit
from strategy.access import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(make_user):
    return audit(action=AuditEvent.Action.REOPEN, actor=make_user("sig", Role.SIG_MEMBER), n=1)


def test_an_event_cannot_be_saved_again_or_deleted(event):
    event.detail = {"n": 2}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == {"n": 1}


def test_the_log_cannot_be_changed_or_emptied_in_bulk(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(detail={})
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).detail == {"n": 1}


def test_whoever_an_event_names_cannot_be_deleted_from_under_it(event):
    with pytest.raises(ProtectedError):
        event.actor.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_admin_shows_the_log_but_offers_no_change_or_deletion(client, event, make_user):
    client.force_login(make_user("admin", Role.ADMINISTRATOR))
    assert client.get("/admin/kpis/auditevent/").status_code == 200
    page = client.get(f"/admin/kpis/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.post(f"/admin/kpis/auditevent/{event.pk}/change/", {"action": "x"}).status_code
        == 403
    )
    assert (
        client.post(f"/admin/kpis/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = client.post(
        "/admin/kpis/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).detail == {"n": 1}
