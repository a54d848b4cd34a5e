"""Celery tasks of the strategy app."""

import logging

from celery import shared_task
from django.conf import settings

from .services import strategy_fixtures_load

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def strategy_fixtures_load_task() -> dict[str, int]:
    """Reload the transcribed strategy fixtures (idempotent upserts)."""
    report = strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
    logger.info("strategy fixtures loaded: %s", report.counts)
    return report.counts
