"""The deliverables tracker: RAG by rule, overdue flags, updates by owners with history."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from strategy.access import Role
from strategy.models import Deliverable, DeliverableUpdate
from strategy.selectors import deliverable_rag
from tests.strategy.factories import OrganisationFactory


@pytest.mark.parametrize(
    ("status", "due", "rag", "overdue"),
    [
        ("complete", date(2024, 3, 31), "green", False),
        ("in_progress", date(2024, 3, 31), "red", True),  # past due, not complete
        ("not_started", date(2024, 6, 1), "amber", False),  # 62 days to go
        ("not_started", date(2024, 9, 1), "green", False),  # 154 days to go
        ("in_progress", date(2024, 6, 1), "green", False),
        ("in_progress", None, "amber", False),
    ],
)
def test_rag_follows_its_rule(status, due, rag, overdue):
    deliverable = Deliverable(code="X", status=status, due=due)
    got, reason, is_overdue = deliverable_rag(deliverable, today=date(2024, 4, 1))
    assert (got, is_overdue) == (rag, overdue) and reason


def test_owners_and_the_group_post_updates_and_history_is_kept(
    client, strategy_data, make_user, sig
):
    deliverable = Deliverable.objects.filter(priorities__isnull=False).first()
    owner_org = deliverable.owner or OrganisationFactory()
    Deliverable.objects.filter(pk=deliverable.pk).update(owner=owner_org)
    owner = make_user("owner", Role.ANALYST)
    owner.organisation = owner_org
    owner.save()
    stranger = make_user("stranger", Role.ANALYST)
    url = reverse("reporting:deliverable-update", args=[deliverable.code])
    client.force_login(stranger)
    assert client.get(url).status_code == 403
    assert client.post(url, {"status": "complete", "note": "done"}).status_code == 403
    client.force_login(owner)
    assert client.post(url, {"status": "in_progress", "note": "Started."}).status_code == 302
    client.force_login(sig)
    assert client.post(url, {"status": "complete", "note": "Finished."}).status_code == 302
    assert client.post(url, {"status": "complete", "note": " "}).status_code == 400
    history = DeliverableUpdate.objects.filter(deliverable=deliverable)
    assert list(history.values_list("status", "note", "author__username")) == [
        ("complete", "Finished.", sig.username),
        ("in_progress", "Started.", "owner"),
    ]
    deliverable.refresh_from_db()
    assert deliverable.status == "complete"
    page = client.get(reverse("reporting:deliverable-tracker")).content.decode()
    assert "Finished." in page


def test_the_tracker_needs_a_log_in_and_constant_queries(
    client, strategy_data, make_user, django_assert_num_queries
):
    url = reverse("reporting:deliverable-tracker")
    assert client.get(url).status_code == 302
    lead = make_user("lead", Role.PLACE_LEAD)
    client.force_login(lead)
    # Session, user, the user's roles for the menu (two), deliverables, their priorities and
    # their updates: seven, however many updates there are.
    with django_assert_num_queries(7):
        page = client.get(url).content.decode()
    assert "Deliverables tracker" in page and "Red:" in page
    for deliverable in Deliverable.objects.all()[:5]:
        for n in range(3):
            DeliverableUpdate.objects.create(
                deliverable=deliverable,
                recorded_at=timezone.now(),
                status="in_progress",
                note=f"Update {n}",
                author=lead,
            )
    with django_assert_num_queries(7):
        client.get(url)
