"""``manage.py strategy_load``: load the transcribed strategy (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from strategy.services import strategy_fixtures_load


class Command(BaseCommand):
    help = "Load the transcribed strategy, geography, partners and deliverables (idempotent)."

    def handle(self, *args, **options):
        report = strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
        for name, count in report.counts.items():
            self.stdout.write(f"{name}: {count}")
