"""``manage.py demo_data``: write the synthetic demo series once."""

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand

from kpis.services.demo import demo_data_load


class Command(BaseCommand):
    help = "Write the synthetic demo series (flagged synthetic), once."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2023)
        parser.add_argument("--as-of", type=date.fromisoformat, default=None)

    def handle(self, *args, **options):
        as_of = options["as_of"] or settings.DEMO_AS_OF
        written = demo_data_load(as_of=as_of, seed=options["seed"])
        self.stdout.write(f"Demo observations written: {written} (as of {as_of}).")
