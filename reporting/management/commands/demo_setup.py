"""``manage.py demo_setup``: everything ``make run`` needs: strategy, catalogue, demo data and
one demo account per role."""

from django.conf import settings
from django.core.management.base import BaseCommand

from kpis.services.catalogue import catalogue_load
from kpis.services.demo import demo_data_load, demo_returns_open
from strategy.services import demo_accounts_ensure, roles_ensure, strategy_fixtures_load


class Command(BaseCommand):
    help = "Load the strategy, KPIs and demo data, and one demo account per role (idempotent)."

    def handle(self, *args, **options):
        roles_ensure()
        strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
        catalogue_load(directory=settings.FIXTURES_DIR / "kpis")
        self.stdout.write("Strategy, places, partners, deliverables and KPI catalogue loaded.")
        written = demo_data_load(as_of=settings.DEMO_AS_OF)
        self.stdout.write(
            f"Synthetic demo observations: {written} written"
            if written
            else "Synthetic demo observations: already loaded"
        )
        accounts = demo_accounts_ensure()
        opened = demo_returns_open()
        self.stdout.write(f"Return periods open for the demo place lead: {opened}")
        self.stdout.write("Demo log-ins (password shown beside each):")
        for username, password, role in accounts:
            self.stdout.write(f"  {role:<40} {username:<10} {password}")
