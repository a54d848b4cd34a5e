import logging

from celery import shared_task

from .recompute import progress_recompute_dirty, series_mark_dirty

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
