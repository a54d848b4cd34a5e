"""Celery tasks: each takes ids, calls one service, and holds only retries, limits and logging."""

import logging

from celery import shared_task
from django.conf import settings

from .services.calendar import expectations_generate_recent, reminders_send
from .services.heartbeat import heartbeat_record
from .services.progress import progress_recompute_dirty, series_mark_dirty
from .services.releases import releases_publish_due
from .services.returns import upload_approval_finish
from .services.validation import (
    upload_held_by_another_attempt,
    upload_validate,
    uploads_sweep_stuck,
)

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def progress_recompute_task(batch_size: int = 500) -> int:
    """Recompute a claimed batch of dirty series, then re-enqueue while any remain."""
    done, remaining = progress_recompute_dirty(batch_size=batch_size)
    logger.info("recomputed %s series; more remaining: %s", done, remaining)
    if remaining:
        progress_recompute_task.delay(batch_size)
    return done


@shared_task
def progress_recompute_all_task() -> int:
    """Nightly check: mark every series dirty and recompute them all."""
    marked = series_mark_dirty()
    progress_recompute_task.delay()
    return marked


# Acknowledged only once done, and given back to the queue if its worker dies (Redis hands an
# unacknowledged one on after the visibility timeout): validation is idempotent, and a dead
# attempt is taken over once silent for RETURN_CLAIM_TIMEOUT.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def upload_validate_task(self, upload_id: int) -> str:
    """Validate and stage an uploaded return, all or nothing."""
    upload = upload_validate(upload_id=upload_id)
    if upload is not None:
        return upload.state
    if upload_held_by_another_attempt(upload_id):
        # Redelivered while the dead attempt still looks alive: try once it has gone silent.
        raise self.retry(countdown=settings.RETURN_CLAIM_TIMEOUT + 5)
    return "already done"


# Acknowledged once done, and redelivered if its worker dies: writing is all or nothing, and
# done once (a second delivery finds the return approved and leaves it).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def upload_approve_task(upload_id: int) -> str:
    """Write an approved return's values, for returns too large to write in the request."""
    upload = upload_approval_finish(upload_id=upload_id)
    return upload.state if upload is not None else "already done"


@shared_task
def uploads_sweep_stuck_task() -> dict[str, int]:
    """Requeue, or end failed, uploads whose validation stopped silently."""
    return uploads_sweep_stuck()


@shared_task
def releases_publish_due_task() -> int:
    """Publish releases at their announced time."""
    return releases_publish_due()


@shared_task
def reminders_send_task() -> int:
    """E-mail place leads and organisation contacts about outstanding returns."""
    return reminders_send()


@shared_task
def expectations_generate_task() -> int:
    """Add the reporting calendar's expectations for periods that have just ended."""
    return expectations_generate_recent()


@shared_task(bind=True, ignore_result=True)
def worker_heartbeat_task(self) -> None:
    """Beat every 30 s: the worker that runs it is alive and taking tasks."""
    heartbeat_record(worker=self.request.hostname or "worker")
