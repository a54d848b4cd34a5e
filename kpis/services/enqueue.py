"""The one way from a service to a Celery task: each helper queues its task once the current
transaction commits, so a worker never sees uncommitted rows. Tasks are imported here lazily;
this is the only module of the services layer that reaches ``kpis.tasks``.

If the broker cannot be reached, what was committed stays committed and nothing is lost: the
work is found again by the periodic sweeps once the broker is back (an upload still "received"
by ``uploads_sweep_stuck``; a dirty series by the periodic recompute). The user is not shown an
error for it.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def _send(task, *args) -> None:
    try:
        task.delay(*args)
    except OperationalError as unreachable:
        logger.warning(
            "could not queue %s%s: the broker is unreachable (%s); the periodic sweep queues "
            "it again once the broker is back",
            task.name,
            args,
            unreachable,
        )


def progress_recompute_enqueue() -> None:
    """Ask a worker to recompute dirty series once the current transaction commits."""
    from ..tasks import progress_recompute_task

    transaction.on_commit(partial(_send, progress_recompute_task))


def upload_approve_enqueue(upload_id: int) -> None:
    """Ask a worker to write an approved return's values once the current transaction commits."""
    from ..tasks import upload_approve_task

    transaction.on_commit(partial(_send, upload_approve_task, upload_id))


def upload_validate_enqueue(upload_id: int) -> None:
    """Ask a worker to validate and stage an upload once the current transaction commits."""
    from ..tasks import upload_validate_task

    transaction.on_commit(partial(_send, upload_validate_task, upload_id))
