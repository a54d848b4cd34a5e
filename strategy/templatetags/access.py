"""Templates ask the access table too: ``{% if user|can:"see_audit_log" %}``."""

from django import template

from strategy.access import Action, user_can

register = template.Library()


@register.filter
def can(user, action: str) -> bool:
    """Whether the user may take the action (its value in ``Action``) for some place."""
    return user_can(user, Action(action))
