"""Who may do what: the one place where roles and place grants are checked."""

from django.db import models

from .models import Place, PlaceGrant, User


class Role(models.TextChoices):
    """Roles are Django groups with these names."""

    SIG_MEMBER = "Strategy Implementation Group", "Strategy Implementation Group member"
    PLACE_LEAD = "Place lead", "Place lead"
    ANALYST = "Analyst", "Analyst"
    ADMINISTRATOR = "Administrator", "Administrator"


def user_roles(user) -> set[str]:
    """The role names a user holds (cached on the user object for the request)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def user_has_role(user, role: Role) -> bool:
    return role.value in user_roles(user)


def user_can_see_unpublished(user) -> bool:
    """Internal dashboards: the Strategy Implementation Group and administrators."""
    return bool(user_roles(user) & {Role.SIG_MEMBER.value, Role.ADMINISTRATOR.value})


def user_can_report_for(user: User, place: Place) -> bool:
    """Place leads report only for places explicitly granted; SIG and administrators for any."""
    roles = user_roles(user)
    if roles & {Role.SIG_MEMBER.value, Role.ADMINISTRATOR.value}:
        return True
    if Role.PLACE_LEAD.value not in roles:
        return False
    return PlaceGrant.objects.filter(user=user, place=place).exists()
