"""Reads of anonymous GET requests (the public pages and the API) from a PostgreSQL read
replica, when one is configured (``DATABASE_REPLICA_URL``); every write, and every request of
a signed-in user, on the primary, so nobody misses what they have just done.

The middleware marks the request; the router sends a marked request's reads to the replica.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_reading_from_replica: ContextVar[bool] = ContextVar("reading_from_replica", default=False)


def replica_reads_middleware(get_response):
    def middleware(request):
        use_replica = (
            settings.READ_REPLICA_ENABLED
            and request.method in ("GET", "HEAD")
            and not request.user.is_authenticated
        )
        token = _reading_from_replica.set(use_replica)
        try:
            return get_response(request)
        finally:
            _reading_from_replica.reset(token)

    return middleware


class ReplicaRouter:
    """Marked requests read from the replica; everything else uses the primary."""

    def db_for_read(self, model, **hints):
        return REPLICA if _reading_from_replica.get() else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
