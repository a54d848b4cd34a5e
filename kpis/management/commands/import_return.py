"""``manage.py import_return``: an administrator's history load, or a dry run that keeps nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kpis.models import ReturnUpload
from kpis.services.returns import upload_create, upload_dry_run, upload_submit
from kpis.services.validation import upload_validate
from strategy.access import Action, user_can
from strategy.models import User


class Command(BaseCommand):
    help = (
        "Validate a return file exactly as an upload is validated; without --dry-run, store it "
        "and submit it for another reviewer's approval (administrators only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--user", required=True, help="The administrator's username.")
        parser.add_argument("--kind", choices=ReturnUpload.Kind.values, default="history")
        parser.add_argument("--dry-run", action="store_true", help="Report only; store nothing.")

    def handle(self, *args, path: Path, user: str, kind: str, dry_run: bool, **options):
        administrator = User.objects.filter(username=user).first()
        if administrator is None or not user_can(administrator, Action.USE_ADMIN):
            raise CommandError(f"{user!r} is not an administrator.")
        with path.open("rb") as content:
            if dry_run:
                upload = upload_dry_run(
                    user=administrator, filename=path.name, content=content, kind=kind
                )
                if upload.state == ReturnUpload.State.VALIDATED:
                    self.stdout.write(f"Dry run: {upload.row_count} valid rows; nothing stored.")
            else:
                upload, created = upload_create(
                    user=administrator, filename=path.name, content=content, kind=kind
                )
                if not created:
                    self.stdout.write(f"Already uploaded as return {upload.pk}: nothing changed.")
                    return
                upload = upload_validate(upload_id=upload.pk) or ReturnUpload.objects.get(
                    pk=upload.pk
                )
                if upload.state == ReturnUpload.State.VALIDATED:
                    upload_submit(upload=upload, user=administrator, confirm_warnings=True)
                    self.stdout.write(
                        f"Return {upload.pk} validated and submitted: another reviewer approves "
                        f"it at /returns/{upload.pk}/."
                    )
        for issue in upload.issues:
            self.stdout.write(
                f"{issue['severity']}: row {issue['row'] or '-'}, column {issue['column'] or '-'}"
                f": {issue['message']}"
            )
        if upload.error_count:
            raise CommandError(f"{upload.error_count} error(s): nothing was stored.")
