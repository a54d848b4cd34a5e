"""The views' one access check: the access table decides, and a refusal says why."""

from django.core.exceptions import PermissionDenied

from strategy.access import Action, user_can


def require(request, action: Action, why: str, place=None) -> None:
    """Refuse the request (403, with the reason) unless the user may take the action."""
    if not user_can(request.user, action, place):
        raise PermissionDenied(why)
