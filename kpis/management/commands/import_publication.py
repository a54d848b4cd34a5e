"""``manage.py import_publication``: import a national publisher's file."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kpis.national import PublicationFormatError
from kpis.periods import PeriodParseError, parse_period
from kpis.services.national import publication_import
from strategy.models import User


def _period(text: str):
    try:
        return parse_period(text)
    except PeriodParseError as error:
        raise CommandError(f"--period {text!r} is not a period: {error}") from error


class Command(BaseCommand):
    help = (
        "Import a national publication's CSV (Fingertips, NHS England MHSDS, NHS Talking "
        "Therapies monthly, quarterly or annual report) as its publisher issues it."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--user", required=True, help="The analyst's username.")
        parser.add_argument("--release-date", type=date.fromisoformat, default=None)
        parser.add_argument(
            "--period",
            default=None,
            help="The financial year of an annual report whose file name does not say it "
            "(e.g. 2020-21).",
        )

    def handle(self, *args, path: Path, user: str, release_date, period, **options):
        analyst = User.objects.filter(username=user).first()
        if analyst is None:
            raise CommandError(f"No user {user!r}.")
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        try:
            result = publication_import(
                user=analyst,
                filename=path.name,
                content=path.read_bytes(),
                release_date=release_date,
                period=_period(period) if period else None,
            )
        except PublicationFormatError as error:
            raise CommandError(str(error)) from error
        if not result.created:
            self.stdout.write("This file was already imported: nothing changed.")
            return
        not_imported = ", ".join(f"{n} {why}" for why, n in result.not_imported.items() if n)
        self.stdout.write(
            f"Read {result.rows_read} rows: {result.rows_imported} imported"
            f"{'; not imported: ' + not_imported if not_imported else ''}. "
            f"{result.values_changed} values changed."
        )
        for issue in result.issues:
            self.stdout.write(f"Note: {issue}")
