"""API tokens: one per user, issued afresh on request (the old one stops working at once)."""

from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from kpis.models import AuditEvent
from kpis.services.audit import audit


def api_token_get(*, user) -> Token | None:
    return Token.objects.filter(user=user).first()


@transaction.atomic
def api_token_issue(*, user) -> Token:
    """A new token for the user, replacing any earlier one; the audit log records that one was
    issued, never the key."""
    replaced = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit(action=AuditEvent.Action.API_TOKEN, actor=user, replaced=replaced)
    return token
