"""``manage.py import_publication``: import a national publisher's file."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kpis.services.national import publication_import
from strategy.models import User


class Command(BaseCommand):
    help = (
        "Import a national publication's CSV (Fingertips, NHS England) as its publisher issues it."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--user", required=True, help="The analyst's username.")
        parser.add_argument("--release-date", type=date.fromisoformat, default=None)

    def handle(self, *args, path: Path, user: str, release_date, **options):
        analyst = User.objects.filter(username=user).first()
        if analyst is None:
            raise CommandError(f"No user {user!r}.")
        result = publication_import(
            user=analyst, filename=path.name, content=path.read_bytes(), release_date=release_date
        )
        if not result.created:
            self.stdout.write("This file was already imported: nothing changed.")
            return
        self.stdout.write(
            f"Read {result.rows_read} rows, mapped {result.rows_mapped}, "
            f"changed {result.values_changed} values; not imported: {result.unmapped}"
        )
