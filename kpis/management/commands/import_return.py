from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kpis.models import ReturnUpload
from kpis.returns.read import read_return
from kpis.returns.spec import ReturnRejected
from kpis.returns.validate import validate_return
from kpis.uploads import (
    _open_history_periods,
    return_context,
    upload_create,
    upload_submit,
    upload_validate,
)
from strategy.access import Role, user_has_role
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
        if administrator is None or not user_has_role(administrator, Role.ADMINISTRATOR):
            raise CommandError(f"{user!r} is not an administrator.")
        if dry_run:
            issues = self._dry_run(administrator, path.name, path.read_bytes(), kind)
        else:
            with path.open("rb") as content:
                upload, created = upload_create(
                    user=administrator, filename=path.name, content=content, kind=kind
                )
            if not created:
                self.stdout.write(f"Already uploaded as return {upload.pk}: nothing changed.")
                return
            upload = upload_validate(upload_id=upload.pk) or ReturnUpload.objects.get(pk=upload.pk)
            issues = upload.issues
            if upload.state == ReturnUpload.State.VALIDATED:
                upload_submit(upload=upload, user=administrator, confirm_warnings=True)
                self.stdout.write(
                    f"Return {upload.pk} validated and submitted: another reviewer approves it "
                    f"at /returns/{upload.pk}/."
                )
        issues = [i if isinstance(i, dict) else asdict(i) for i in issues]
        for issue in issues:
            self.stdout.write(
                f"{issue['severity']}: row {issue['row'] or '-'}, column {issue['column'] or '-'}"
                f": {issue['message']}"
            )
        errors = sum(
            1 for i in issues if (i["severity"] if isinstance(i, dict) else i.severity) == "error"
        )
        if errors:
            raise CommandError(f"{errors} error(s): nothing was stored.")

    def _dry_run(self, user, name, content, kind):
        ctx = return_context(user=user, kind=kind)
        try:
            raw = read_return(name, content, ctx)
        except ReturnRejected as rejected:
            return rejected.issues
        if kind == ReturnUpload.Kind.HISTORY:
            ctx = _open_history_periods(ctx, raw)
        result = validate_return(raw, ctx)
        self.stdout.write(f"Dry run: {len(result.rows)} valid rows; nothing stored.")
        return [*result.errors, *result.warnings]
