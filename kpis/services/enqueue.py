"""The one way from a service to a Celery task: each helper queues its task once the current
transaction commits, so a worker never sees uncommitted rows. Tasks are imported here lazily;
this is the only module of the services layer that reaches ``kpis.tasks``.
"""

from __future__ import annotations

from django.db import transaction


def progress_recompute_enqueue() -> None:
    """Ask a worker to recompute dirty series once the current transaction commits."""
    from ..tasks import progress_recompute_task

    transaction.on_commit(progress_recompute_task.delay)


def upload_validate_enqueue(upload_id: int) -> None:
    """Ask a worker to validate and stage an upload once the current transaction commits."""
    from ..tasks import upload_validate_task

    transaction.on_commit(lambda: upload_validate_task.delay(upload_id))
