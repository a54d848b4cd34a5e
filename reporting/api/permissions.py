"""DRF permissions that ask the access table, so the API and the pages decide alike."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from strategy.access import Action, user_can


class AccessTablePermission(BasePermission):
    """Allows a request when the access table allows the view's ``access_action``.

    A view declares ``access_action`` (an ``Action``); token calls also need
    ``USE_API_TOKEN``, so a role not meant to call the API with a token cannot.
    """

    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        action = getattr(view, "access_action", None)
        if action is None:
            return False
        if request.auth is not None and not user_can(request.user, Action.USE_API_TOKEN):
            return False
        return user_can(request.user, action)
