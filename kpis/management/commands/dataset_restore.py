"""``manage.py dataset_restore FILE``: an export restored into an empty database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kpis.services.dataset import DatasetError, dataset_restore


class Command(BaseCommand):
    help = "Restore an export (dataset_export) into this database, which must be empty."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            dataset_restore(path=file)
        except DatasetError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored the dataset from {file}.")
