"""Every URL the site serves, called by every role, answers as the access table says, and no
unpublished figure reaches a role that may not see it.

The URLs come from the URL configuration itself: a URL with no entry in ``EXPECTED`` fails
``test_every_url_is_in_the_matrix``, so none can escape. Each entry names the URL's real
arguments and the rule its answer follows; the rules ask ``strategy.access`` (``user_can``)
with the caller's own user, so the matrix follows the access table. The admin is covered by
its index and every registered model's list.

The unpublished figure: Southend (sub-ICB 99G) Talking Therapies recovery for Aug 2023, 9,137
of 10,000 (91.37%), approved and awaiting release.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from kpis.models import Kpi, WorkerHeartbeat
from kpis.services.observations import series_get_or_create
from kpis.services.progress import progress_recompute_dirty
from strategy.access import Action, Role, user_can
from strategy.models import Deliverable, Place
from tests.kpis.observation_helpers import record
from tests.kpis.release_helpers import two_releases_and_a_pending_one
from tests.kpis.upload_helpers import GOOD, csv, uploaded

ROLES = ["anonymous", "lead", "sig", "analyst", "admin"]
#: How the unpublished value may be written on a page or in a download.
UNPUBLISHED_SHOWN = ("91.37", "91.4")


def walk(patterns, prefix: str = "", namespace: str | None = None):
    """(name, route) of every URL, the admin's left to ``test_the_admin``."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            yield from walk(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


@pytest.fixture
def world(catalogue_data, make_user):
    lead = make_user("matrix-lead", Role.PLACE_LEAD, places=("southend", "sub-icb-99g"))
    sig = make_user("matrix-sig", Role.SIG_MEMBER)
    users = {
        "anonymous": None,
        "lead": lead,
        "sig": sig,
        "analyst": make_user("matrix-analyst", Role.ANALYST),
        "admin": make_user("matrix-admin", Role.ADMINISTRATOR),
    }
    releases = two_releases_and_a_pending_one(sig)
    recovery = series_get_or_create(
        kpi=Kpi.objects.get(code="TT-RECOVERY"), place=Place.objects.get(code="sub-icb-99g")
    )
    record(recovery, "Aug 2023", 9137, 10000, approved=True)
    progress_recompute_dirty(batch_size=1000)
    WorkerHeartbeat.objects.create(worker="celery@matrix", beat_at=timezone.now())
    return SimpleNamespace(
        users=users,
        releases=releases,
        own_upload=uploaded(lead, GOOD),
        other_upload=uploaded(sig, csv("MHST-PUPIL-COVERAGE,thurrock,2024-25,,30,60,50,,")),
        deliverable=Deliverable.objects.order_by("code").first(),
        place={code: Place.objects.get(code=code) for code in ("sub-icb-99g", "thurrock")},
    )


# Rules: each gives the expected status for a role's user (None: anonymous).


def everyone(status: int = 200):
    return lambda user, world: status


def signed_in(user, world):
    return 302 if user is None else 200


def allowed(action: Action, *, place: str | None = None, anonymous: int = 302):
    def rule(user, world):
        if user is None:
            return anonymous
        where = world.place[place] if place else None
        return 200 if user_can(user, action, where) else 403

    return rule


def returns_of(place_code: str):
    """A return is seen by its uploader and whoever sees the returns of its place."""

    def rule(user, world):
        if user is None:
            return 302
        upload = world.own_upload if place_code == "southend" else world.other_upload
        mine = upload.uploaded_by_id == user.pk
        return (
            200
            if mine or user_can(user, Action.SEE_RETURNS, Place.objects.get(code=place_code))
            else 403
        )

    return rule


def posted_only(user, world):
    """A POST-only action: log in first, then 405 to a GET."""
    return 302 if user is None else 405


# (name, arguments from the world, query) -> rule. Several entries of one name are variants.
def _pk(what):
    return lambda world: {"pk": what(world).pk}


PUBLIC_PAGES = {
    "reporting:home": {},
    "reporting:kpi-list": {},
    "reporting:kpi-definition": {"code": "TT-RECOVERY"},
    "reporting:kpi-csv": {"code": "TT-RECOVERY"},
    "reporting:kpi-xlsx": {"code": "TT-RECOVERY"},
    "reporting:deliverables": {},
    "reporting:outcome": {"code": "O1"},
    "reporting:theme": {"theme": "acute-crisis", "cohort": "adults"},
    "reporting:place": {"code": "southend"},
    "reporting:place-csv": {"code": "southend"},
    "reporting:place-xlsx": {"code": "southend"},
    "reporting:what-matters": {},
    "reporting:what-matters-data": {"file_type": "csv"},
    "reporting:outcome-data": {"code": "O1", "file_type": "csv"},
    "reporting:theme-data": {"theme": "acute-crisis", "cohort": "adults", "file_type": "xlsx"},
    "reporting:methodology": {},
    "reporting:api-docs": {},
    "reporting:releases": {},
    "reporting:release-feed": {},
    "reporting:release-data-csv": lambda w: {"pk": w.releases.second.pk},
    "reporting:release-data-xlsx": lambda w: {"pk": w.releases.second.pk},
    "reporting:release-datapackage": lambda w: {"pk": w.releases.second.pk},
    "reporting:release-changes": lambda w: {"pk": w.releases.second.pk},
    "api:strategy": {},
    "api:deliverables": {},
    "api:places": {},
    "api:kpis": {},
    "api:kpi": {"code": "TT-RECOVERY"},
    "api:periods": {},
    "api:releases": {},
    "api:observations": {},
    "api:assessments": {},
    "api:schema": {},
    "api:reference": {},
    "login": {},
    "healthz": {},
    "health-live": {},
    "health-ready": {},
}

EXPECTED: list[tuple[str, object, str, object]] = [
    *((name, kwargs, "", everyone()) for name, kwargs in PUBLIC_PAGES.items()),
    ("logout", {}, "", everyone(405)),
    ("api:observations", {}, "view=internal", allowed(Action.SEE_UNPUBLISHED, anonymous=403)),
    ("api:assessments", {}, "view=internal", allowed(Action.SEE_UNPUBLISHED, anonymous=403)),
    ("reporting:api-token", {}, "", allowed(Action.USE_API_TOKEN)),
    ("reporting:release-new", {}, "", allowed(Action.MANAGE_RELEASES)),
    (
        "reporting:release-detail",
        lambda w: {"pk": w.releases.pending.pk},
        "",
        allowed(Action.MANAGE_RELEASES),
    ),
    ("reporting:release-publish", lambda w: {"pk": w.releases.pending.pk}, "", posted_only),
    ("reporting:deliverable-tracker", {}, "", signed_in),
    (
        "reporting:deliverable-update",
        lambda w: {"code": w.deliverable.code},
        "",
        allowed(Action.UPDATE_DELIVERABLE),
    ),
    ("reporting:audit", {}, "", allowed(Action.SEE_AUDIT_LOG)),
    ("reporting:completeness", {}, "", allowed(Action.SEE_COMPLETENESS)),
    ("reporting:completeness-csv", {}, "", allowed(Action.SEE_COMPLETENESS)),
    ("reporting:publication-import", {}, "", allowed(Action.IMPORT_PUBLICATION)),
    ("reporting:board", {}, "", allowed(Action.SEE_UNPUBLISHED)),
    ("reporting:board-csv", {}, "", allowed(Action.SEE_UNPUBLISHED)),
    ("reporting:board-xlsx", {}, "", allowed(Action.SEE_UNPUBLISHED)),
    ("reporting:kpi-dashboard", {"code": "TT-RECOVERY"}, "", allowed(Action.SEE_UNPUBLISHED)),
    *(
        (
            name,
            kwargs,
            "",
            allowed(Action.SEE_UNPUBLISHED, place=place),
        )
        for place in ("sub-icb-99g", "thurrock")
        for name, kwargs in (
            ("reporting:place-dashboard", {"code": place}),
            (
                "reporting:commentary",
                {"code": "TT-RECOVERY", "place": place, "period": "Jun 2023"},
            ),
        )
    ),
    ("reporting:returns", {}, "", allowed(Action.UPLOAD_RETURN)),
    ("reporting:return-template-xlsx", {}, "", allowed(Action.UPLOAD_RETURN)),
    ("reporting:return-template-csv", {}, "", allowed(Action.UPLOAD_RETURN)),
    *(
        (name, _pk(upload), "", returns_of(place))
        for place, upload in (
            ("southend", lambda w: w.own_upload),
            ("thurrock", lambda w: w.other_upload),
        )
        for name in (
            "reporting:return-detail",
            "reporting:return-status",
            "reporting:return-issues",
            "reporting:return-file",
        )
    ),
    *(
        (name, _pk(lambda w: w.own_upload), "", posted_only)
        for name in (
            "reporting:return-submit",
            "reporting:return-decide",
            "reporting:return-withdraw",
        )
    ),
]


def test_every_url_is_in_the_matrix():
    served = {name for name, _ in walk(get_resolver().url_patterns)}
    assert served == {name for name, *_ in EXPECTED}


def _answers(client, world, url: str, rule) -> dict[str, tuple[int, int, bytes]]:
    """Each role's (status, expected status, body) for the URL."""
    found = {}
    for role in ROLES:
        user = world.users[role]
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        found[role] = (response.status_code, rule(user, world), body)
    return found


@pytest.mark.django_db
def test_every_url_answers_each_role_as_the_access_table_says(client, world):
    wrong, leaks, shown_to_group = [], [], 0
    for name, kwargs, query, rule in EXPECTED:
        arguments = kwargs(world) if callable(kwargs) else kwargs
        url = reverse(name, kwargs=arguments) + (f"?{query}" if query else "")
        for role, (status, expected, body) in _answers(client, world, url, rule).items():
            if status != expected:
                wrong.append(f"{role} GET {url}: {status}, expected {expected}")
            text = body.decode("utf-8", errors="replace")
            sees_unpublished = role != "anonymous" and user_can(
                world.users[role], Action.SEE_UNPUBLISHED, world.place["sub-icb-99g"]
            )
            shown = [figure for figure in UNPUBLISHED_SHOWN if figure in text]
            if shown and not sees_unpublished:
                leaks.append(f"{role} GET {url}: shows {shown}")
            if role == "sig" and shown:
                shown_to_group += 1
    assert wrong == []
    assert leaks == []
    # The search would find the figure: the group sees it on its pages and downloads.
    assert shown_to_group >= 3


@pytest.mark.django_db
def test_the_admin_is_for_administrators_only(client, world):
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    wrong = []
    for url in urls:
        for role in ROLES:
            user = world.users[role]
            client.logout()
            if user is not None:
                client.force_login(user)
            status = client.get(url).status_code
            expected = 200 if user is not None and user_can(user, Action.USE_ADMIN) else 302
            if status != expected:
                wrong.append(f"{role} GET {url}: {status}, expected {expected}")
    assert wrong == []
    assert len(urls) > 20


@pytest.mark.django_db
def test_an_uploaded_file_is_only_served_through_its_access_checked_view(client, world):
    client.force_login(world.users["admin"])
    stored = world.own_upload.file.name
    assert stored and not stored.startswith("/")
    for url in (f"/media/{stored}", f"/static/{stored}", f"/{stored}"):
        assert client.get(url).status_code == 404, url
    served = client.get(reverse("reporting:return-file", kwargs={"pk": world.own_upload.pk}))
    assert served.status_code == 200
    body = b"".join(served.streaming_content) if served.streaming else served.content
    assert body == GOOD
