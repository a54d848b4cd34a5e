"""``manage.py catalogue_load``: load the KPI catalogue (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from kpis.services.catalogue import catalogue_load


class Command(BaseCommand):
    help = "Load the KPI catalogue, disclosure rules and breakdowns (idempotent)."

    def handle(self, *args, **options):
        report = catalogue_load(directory=settings.FIXTURES_DIR / "kpis")
        for name, count in report.counts.items():
            self.stdout.write(f"{name}: {count}")
