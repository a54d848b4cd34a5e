"""Who may do what: the one table of actions and the roles allowed them, and ``user_can``.

Every view, service, template and API permission asks ``user_can`` (or ``places_for``); no
role set is spelled anywhere else. An action either holds for every place (its ``roles``) or,
for ``place_roles``, only for the places explicitly granted to the user: grants never inherit,
so a lead for South East Essex does not thereby act for Southend.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.db.models import QuerySet

from .models import Place, PlaceGrant


class Role(models.TextChoices):
    """Roles are Django groups with these names."""

    SIG_MEMBER = "Strategy Implementation Group", "Strategy Implementation Group member"
    PLACE_LEAD = "Place lead", "Place lead"
    ANALYST = "Analyst", "Analyst"
    ADMINISTRATOR = "Administrator", "Administrator"


class Action(models.TextChoices):
    READ_PUBLISHED = "read_published", "Read published figures"
    UPLOAD_RETURN = "upload_return", "Upload a quarterly return for a place"
    UPLOAD_HISTORY = "upload_history", "Load history for any place"
    SEE_RETURNS = "see_returns", "See the returns of a place"
    SUBMIT_RETURN = "submit_return", "Submit a validated return for a place"
    DECIDE_RETURN = "decide_return", "Approve or send back a submitted return"
    WITHDRAW_ANY_RETURN = "withdraw_any_return", "Withdraw a return someone else uploaded"
    SEE_UNPUBLISHED = "see_unpublished", "See unpublished values of a place"
    SEE_PRE_RELEASE = "see_pre_release", "See approved figures before their release"
    MANAGE_RELEASES = "manage_releases", "Schedule and publish releases"
    IMPORT_PUBLICATION = "import_publication", "Import a national publication"
    WRITE_COMMENTARY = "write_commentary", "Write commentary on a place's figures"
    UPDATE_DELIVERABLE = "update_deliverable", "Post a deliverable's progress update"
    SEE_DELIVERABLE_UPDATES = "see_deliverable_updates", "Read deliverables' progress updates"
    REOPEN_PERIOD = "reopen_period", "Reopen a locked return period for a place"
    SEE_AUDIT_LOG = "see_audit_log", "Read the audit log"
    SEE_COMPLETENESS = "see_completeness", "See the completeness of returns"
    USE_ADMIN = "use_admin", "Use the Django admin"
    USE_API_TOKEN = "use_api_token", "Call the API with a token"


@dataclass(frozen=True)
class Permission:
    """Who may take an action: ``roles`` for every place, ``place_roles`` for granted places;
    ``anonymous`` also lets in visitors who have not logged in."""

    roles: frozenset[str] = frozenset()
    place_roles: frozenset[str] = frozenset()
    anonymous: bool = False


def _allow(*roles: Role, per_place: Iterable[Role] = (), anonymous: bool = False) -> Permission:
    return Permission(
        roles=frozenset(r.value for r in roles),
        place_roles=frozenset(r.value for r in per_place),
        anonymous=anonymous,
    )


SIG, LEAD, ANALYST, ADMIN = Role.SIG_MEMBER, Role.PLACE_LEAD, Role.ANALYST, Role.ADMINISTRATOR

ACCESS: dict[Action, Permission] = {
    Action.READ_PUBLISHED: _allow(SIG, LEAD, ANALYST, ADMIN, anonymous=True),
    Action.UPLOAD_RETURN: _allow(SIG, ADMIN, per_place=[LEAD]),
    Action.UPLOAD_HISTORY: _allow(SIG, ADMIN),
    Action.SEE_RETURNS: _allow(SIG, ADMIN, per_place=[LEAD]),
    Action.SUBMIT_RETURN: _allow(SIG, ADMIN, per_place=[LEAD]),
    Action.DECIDE_RETURN: _allow(SIG, ADMIN),
    # Uploaders withdraw their own returns; this is for anyone else's.
    Action.WITHDRAW_ANY_RETURN: _allow(ADMIN),
    Action.SEE_UNPUBLISHED: _allow(SIG, ADMIN, per_place=[LEAD]),
    Action.SEE_PRE_RELEASE: _allow(SIG, ADMIN),
    Action.MANAGE_RELEASES: _allow(SIG, ADMIN),
    Action.IMPORT_PUBLICATION: _allow(SIG, ANALYST, ADMIN),
    Action.WRITE_COMMENTARY: _allow(SIG, ADMIN, per_place=[LEAD]),
    Action.UPDATE_DELIVERABLE: _allow(SIG, ADMIN),
    Action.SEE_DELIVERABLE_UPDATES: _allow(SIG, LEAD, ANALYST, ADMIN),
    Action.REOPEN_PERIOD: _allow(SIG, ADMIN),
    Action.SEE_AUDIT_LOG: _allow(SIG, ADMIN),
    Action.SEE_COMPLETENESS: _allow(SIG, ADMIN),
    Action.USE_ADMIN: _allow(ADMIN),
    Action.USE_API_TOKEN: _allow(SIG, ANALYST, ADMIN),
}


def user_roles(user) -> set[str]:
    """The role names a user holds (cached on the user object for the request)."""
    if user is None or not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def roles_can(roles: Iterable[str], action: Action) -> bool:
    """Whether holding these roles allows the action for every place (no user needed)."""
    return bool(set(roles) & ACCESS[action].roles)


def _granted_place_ids(user) -> set[int]:
    cached = getattr(user, "_granted_place_ids", None)
    if cached is None:
        cached = set(PlaceGrant.objects.filter(user=user).values_list("place_id", flat=True))
        user._granted_place_ids = cached
    return cached


def user_can(user, action: Action, place: Place | int | None = None) -> bool:
    """Whether the user may take the action: for ``place`` when given (a place or its id),
    otherwise for at least one place."""
    permission = ACCESS[action]
    if permission.anonymous:
        return True
    roles = user_roles(user)
    if roles & permission.roles:
        return True
    if not roles & permission.place_roles:
        return False
    granted = _granted_place_ids(user)
    if place is None:
        return bool(granted)
    return (place if isinstance(place, int) else place.pk) in granted


def user_can_everywhere(user, action: Action) -> bool:
    """Whether the user may take the action for every place, without needing grants."""
    permission = ACCESS[action]
    return permission.anonymous or bool(user_roles(user) & permission.roles)


def place_role_names(action: Action) -> frozenset[str]:
    """The roles that take the action only for their granted places."""
    return ACCESS[action].place_roles


def user_can_for_all(user, action: Action, place_ids: Iterable[int]) -> bool:
    """Whether the user may take the action for every one of these places."""
    return all(user_can(user, action, place_id) for place_id in set(place_ids))


def places_for(user, action: Action) -> QuerySet[Place]:
    """The places for which the user may take the action."""
    permission = ACCESS[action]
    roles = user_roles(user)
    if permission.anonymous or roles & permission.roles:
        return Place.objects.all()
    if roles & permission.place_roles:
        return Place.objects.filter(grants__user=user)
    return Place.objects.none()
