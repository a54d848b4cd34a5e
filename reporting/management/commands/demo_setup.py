from django.conf import settings
from django.core.management.base import BaseCommand

from strategy.services import demo_accounts_ensure, roles_ensure, strategy_fixtures_load


class Command(BaseCommand):
    help = "Load the strategy and demo data, and create one demo account per role (idempotent)."

    def handle(self, *args, **options):
        roles_ensure()
        strategy_fixtures_load(directory=settings.FIXTURES_DIR / "strategy")
        self.stdout.write("Strategy, places, partners and deliverables loaded.")
        self.stdout.write("Demo log-ins (password shown beside each):")
        for username, password, role in demo_accounts_ensure():
            self.stdout.write(f"  {role:<40} {username:<10} {password}")
