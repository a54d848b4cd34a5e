"""``manage.py dataset_export FILE``: the whole dataset, schema and rows, to one file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kpis.services.dataset import DatasetError, dataset_export


class Command(BaseCommand):
    help = "Export every table of the database, schema and rows, to one file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            dataset_export(path=file)
        except DatasetError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Exported the dataset to {file} ({file.stat().st_size:,} bytes).")
