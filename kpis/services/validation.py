"""Validating an uploaded return in the background: read, check every row, stage the clean
rows, all or nothing. A file over ``RETURN_CHUNK_BYTES`` is checked and staged chunk by chunk so
memory stays flat; a repeat run of the same upload does nothing.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta

import pandas as pd
from django.conf import settings
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from strategy.models import Place

from .. import periods
from ..bulk.copy import BackgroundCopy, fast_path
from ..bulk.staging import StagedValues, StagingIds, stage_rows, staged_discard
from ..models import AuditEvent, ReturnRow, ReturnUpload
from ..returns.chunks import IssueTally, csv_chunks
from ..returns.read import RawReturn, read_return
from ..returns.spec import PERSON_LEVEL_CODES, Issue, ReturnContext, ReturnRejected
from ..returns.validate import validate_return
from ..selectors.returns import return_context, staged_duplicate_issues
from .audit import audit
from .enqueue import upload_approve_enqueue, upload_validate_enqueue

State = ReturnUpload.State
logger = logging.getLogger(__name__)
# A file may state any version (a long one fails the template check, or is shown as given on a
# history load): what is kept of it fits the column.
_VERSION_KEPT = ReturnUpload._meta.get_field("template_version").max_length


@dataclass
class _Attempt:
    """One attempt at validating an upload: the attempt's number, and the series and periods
    its staging created (so a failed file can take them away again)."""

    upload: ReturnUpload
    number: int
    ids: StagingIds = field(default_factory=StagingIds)

    def mine(self):
        """The upload, while this attempt still holds it (not withdrawn, not taken over)."""
        return ReturnUpload.objects.filter(
            pk=self.upload.pk, state=State.VALIDATING, validation_attempts=self.number
        )


class _Superseded(Exception):
    """The upload was withdrawn, or taken over by a later attempt, while this one worked."""


def _progress(attempt: _Attempt, stage: str, percent: int) -> None:
    attempt.mine().update(stage=stage, percent=percent, heartbeat_at=timezone.now())


def _open_history_periods(ctx: ReturnContext, raw: RawReturn) -> ReturnContext:
    """History loads may hold any period that is not locked for returns."""
    status = dict(ctx.period_status)
    _, distinct_periods = raw.distinct["period"]
    for text in distinct_periods:
        try:
            label = periods.parse_period(text).label
        except periods.PeriodParseError:
            continue
        status.setdefault(label, "open")
    return replace(ctx, period_status=status)


_ISSUE_FIELDS = [f.name for f in fields(Issue)]


def _issue_dicts(issues: list[Issue]) -> list[dict]:
    # Not dataclasses.asdict, which deep-copies every value: an upload stores thousands.
    return [
        {name: _storable(getattr(issue, name)) for name in _ISSUE_FIELDS}
        for issue in issues[: settings.RETURN_MAX_STORED_ISSUES]
    ]


def _storable(value):
    """Text as PostgreSQL stores it: a NUL, which no text or JSON column holds, shown as the
    replacement character (a cell's NUL is named as an issue of its own, never stored)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    return value


def upload_validate(*, upload_id: int) -> ReturnUpload | None:
    """Read, validate and stage an upload, all or nothing; returns None when another attempt
    holds it (a repeat run of a finished upload does nothing).

    An attempt silent for longer than ``RETURN_CLAIM_TIMEOUT`` (its worker died) is taken
    over: its staged rows are removed and the file is checked again. Whatever goes wrong, the
    upload ends in one final state with a reason its uploader can read, and nothing of a failed
    file is kept: no staged rows, no series or periods it created.
    """
    attempt = _claim(upload_id)
    if attempt is None:
        return None
    try:
        return _validate(attempt)
    except _Superseded:
        return ReturnUpload.objects.get(pk=upload_id)
    except Exception:
        logger.exception("Validating return %s failed", upload_id)
        staged_discard(upload=attempt.upload, ids=attempt.ids)
        return _finish_or_superseded(attempt, errors=[_fault()], warnings=[], rows=None)


def upload_held_by_another_attempt(upload_id: int) -> bool:
    """Whether an attempt that still shows signs of life holds the upload."""
    return (
        ReturnUpload.objects.filter(pk=upload_id, state=State.VALIDATING)
        .exclude(_claimable_now())
        .exists()
    )


def _claimable_now() -> Q:
    silent_since = timezone.now() - timedelta(seconds=settings.RETURN_CLAIM_TIMEOUT)
    return Q(state=State.RECEIVED) | Q(
        Q(heartbeat_at__lt=silent_since) | Q(heartbeat_at__isnull=True), state=State.VALIDATING
    )


def _claim(upload_id: int) -> _Attempt | None:
    with transaction.atomic():
        upload = (
            ReturnUpload.objects.select_for_update()
            .select_related("uploaded_by")
            .filter(_claimable_now(), pk=upload_id)
            .first()
        )
        if upload is None:
            return None
        if upload.state == State.VALIDATING:
            logger.warning("Return %s: taking over a silent validation attempt", upload_id)
            ReturnRow.objects.filter(upload=upload).delete()
        number = upload.validation_attempts + 1
        ReturnUpload.objects.filter(pk=upload_id).update(
            state=State.VALIDATING,
            stage="Reading the file",
            percent=5,
            validation_attempts=number,
            heartbeat_at=timezone.now(),
        )
    return _Attempt(upload=upload, number=number)


def uploads_sweep_stuck() -> dict[str, int]:
    """Requeue uploads whose validation stopped silently (received but never taken, or held by
    an attempt silent past ``RETURN_STUCK_AFTER``); one that has used up
    ``RETURN_MAX_ATTEMPTS`` ends failed, with the reason, and nothing of it kept."""
    silent_since = timezone.now() - timedelta(seconds=settings.RETURN_STUCK_AFTER)
    stuck = ReturnUpload.objects.filter(
        Q(state=State.RECEIVED, uploaded_at__lt=silent_since)
        | Q(state=State.VALIDATING, heartbeat_at__lt=silent_since)
        | Q(state=State.VALIDATING, heartbeat_at__isnull=True, uploaded_at__lt=silent_since)
    )
    requeued = failed = 0
    # An approval whose values a worker has not written (one lost, or the task never sent).
    for upload_id in ReturnUpload.objects.filter(
        state=State.APPROVING, decided_at__lt=silent_since
    ).values_list("pk", flat=True):
        upload_approve_enqueue(upload_id)
        requeued += 1
    for upload_id, attempts in stuck.values_list("pk", "validation_attempts"):
        if attempts < settings.RETURN_MAX_ATTEMPTS:
            upload_validate_enqueue(upload_id)
            requeued += 1
        elif _give_up(upload_id, attempts):
            failed += 1
    return {"requeued": requeued, "failed": failed}


def _give_up(upload_id: int, attempts: int) -> bool:
    with transaction.atomic():
        given_up = ReturnUpload.objects.filter(
            pk=upload_id, state=State.VALIDATING, validation_attempts=attempts
        ).update(
            state=State.VALIDATION_FAILED,
            stage="Could not be checked",
            percent=100,
            error_count=1,
            issues=_issue_dicts([_gave_up(attempts)]),
        )
        if given_up:
            ReturnRow.objects.filter(upload_id=upload_id).delete()
            audit(
                action=AuditEvent.Action.VALIDATED,
                upload=ReturnUpload.objects.get(pk=upload_id),
                errors=1,
                warnings=0,
                gave_up_after_attempts=attempts,
            )
    return bool(given_up)


def _file_issue(code: str, message: str) -> Issue:
    """An issue of the file as a whole, not of one cell."""
    return Issue(row=None, column=None, value="", message=message, code=code)


def _gave_up(attempts: int) -> Issue:
    return _file_issue(
        "internal_error",
        f"The file could not be checked: the service stopped {attempts} times while "
        "checking it, and nothing from it was stored. Upload it again, or split it into "
        "smaller files; an administrator can see why in the service's log.",
    )


def _fault() -> Issue:
    return _file_issue(
        "internal_error",
        "The file could not be checked because of a fault in the service; nothing "
        "from it was stored. Upload it again; if the fault comes back, ask an administrator "
        "to look at the service's log.",
    )


def _validate(attempt: _Attempt) -> ReturnUpload:
    upload = attempt.upload
    ctx = return_context(user=upload.uploaded_by, kind=upload.kind)
    with upload.file.open("rb") as handle:
        is_workbook = handle.read(2) == b"PK"
        handle.seek(0)
        if not is_workbook and upload.size > settings.RETURN_CHUNK_BYTES:
            # Large CSVs (history loads) are read in chunks, so memory stays flat; lines come
            # from the storage's own file object, not line by line through Django's proxies.
            raw = handle
            while isinstance(raw, File):
                raw = raw.file
            return _validate_in_chunks(attempt, raw, ctx)
        content = handle.read()
    try:
        raw = read_return(upload.original_name, content, ctx)
    except ReturnRejected as rejected:
        return _finish_or_superseded(attempt, errors=rejected.issues, warnings=[], rows=None)
    if upload.kind == ReturnUpload.Kind.HISTORY:
        ctx = _open_history_periods(ctx, raw)
    _progress(attempt, "Checking every row", 40)
    result = validate_return(raw, ctx)
    errors = result.errors
    if upload.kind == ReturnUpload.Kind.QUARTERLY:
        errors = [*errors, *_unexpected(result.rows, ctx)]
    rows = result.rows if not errors else None
    return _finish_or_superseded(
        attempt,
        errors=errors,
        warnings=result.warnings,
        rows=rows,
        template_version=raw.template_version or "",
        row_count=len(raw.frame),
    )


def _tally() -> IssueTally:
    return IssueTally(settings.RETURN_MAX_STORED_ISSUES)


@dataclass
class _ChunkedCheck:
    """What checking a large file chunk by chunk has found so far."""

    errors: IssueTally = field(default_factory=lambda: _tally())
    warnings: IssueTally = field(default_factory=lambda: _tally())
    place_codes: set[str] = field(default_factory=set)
    records: int = 0
    template_version: str = ""
    has_data: bool = False
    # Issues of the header and file as a whole, which every chunk would otherwise repeat.
    file_issues: set[tuple] = field(default_factory=set)
    # The values staged so far, to find one given again in a later chunk without asking the
    # database (which is asked only then, to name the rows).
    staged: StagedValues = field(default_factory=StagedValues)

    def add_file_level_once(self, issues: list[Issue], header_lines: int) -> None:
        fresh = []
        for issue in issues:
            if issue.row is None or issue.row <= header_lines:
                key = (issue.row, issue.column, issue.code, issue.message)
                if key in self.file_issues:
                    continue
                self.file_issues.add(key)
            fresh.append(issue)
        self.errors.add([i for i in fresh if i.severity == "error"])
        self.warnings.add([i for i in fresh if i.severity != "error"])


def _validate_in_chunks(attempt: _Attempt, handle, ctx: ReturnContext) -> ReturnUpload:
    """Validate and stage a large CSV chunk by chunk, all or nothing.

    1. Each chunk (the header repeated) is read and validated exactly as a whole file is, its
       rows numbered as in the whole file.
    2. Clean rows are staged as they go, a chunk at a time (copied in the background while
       the next chunk is checked, where that is possible).
    3. A value given again in a later chunk is noticed in memory and its rows named from the
       staging table; after any error anywhere the staged rows are removed, so nothing from
       the file is kept.
    """
    upload = attempt.upload
    found = _ChunkedCheck()
    writer = BackgroundCopy.where_useful()
    try:
        _check_and_stage_chunks(attempt, handle, ctx, found, writer)
    except BaseException:
        if writer is not None:
            writer.close(raise_error=False)
        raise
    if writer is not None:
        writer.close()  # every staged chunk is written before it is checked or removed
    errors = found.errors
    if not errors.count and not found.has_data:
        errors.add([_no_data(upload)])
    if not errors.count and found.staged.repeated:
        errors.add(staged_duplicate_issues(upload=upload))
    if errors.count:
        # All or nothing: the staged rows of a failed file, and what they created, go.
        staged_discard(upload=upload, ids=attempt.ids)
        return _finish_or_superseded(
            attempt, errors=errors, warnings=found.warnings, rows=None, row_count=found.records
        )
    upload.places.set(Place.objects.filter(code__in=found.place_codes))
    if fast_path():
        # Approval's set-based ingest is planned from these statistics: without them, a
        # million rows just copied in are estimated as a few thousand.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kpis_returnrow (upload_id, series_id, period_id)")
    return _finish_or_superseded(
        attempt,
        errors=errors,
        warnings=found.warnings,
        rows=pd.DataFrame(),
        template_version=found.template_version,
        row_count=found.records,
        staged=True,
    )


def _check_and_stage_chunks(attempt: _Attempt, handle, ctx, found: _ChunkedCheck, writer):
    upload, ids = attempt.upload, attempt.ids
    chunks = csv_chunks(handle, settings.RETURN_CHUNK_ROWS)
    prefix = next(chunks)
    header_lines = prefix.count(b"\n")
    for chunk in chunks:
        if found.records + chunk.records > ctx.max_rows:
            found.errors.add([_too_many_rows(upload, ctx)])
            return
        content = prefix + chunk.content
        chunk_ctx = replace(
            ctx, max_rows=chunk.lines, max_bytes=len(content) + 1, row_offset=found.records
        )
        try:
            raw = read_return(upload.original_name, content, chunk_ctx)
        except ReturnRejected as rejected:
            # A chunk of nothing but blank rows (a spreadsheet's trailing ones) is no error.
            if any(issue.code != "no_data" for issue in rejected.issues):
                found.add_file_level_once(rejected.issues, header_lines)
            found.records += chunk.records
            continue
        del content
        if found.has_data:
            raw = replace(raw, file_warnings=[])  # the header's warnings once, not per chunk
        found.has_data = True
        found.template_version = found.template_version or raw.template_version or ""
        if upload.kind == ReturnUpload.Kind.HISTORY:
            chunk_ctx = _open_history_periods(chunk_ctx, raw)
        # Issues are built only while there is room to keep them; later ones are counted.
        result = validate_return(
            raw, chunk_ctx, keep=found.errors.room, keep_warnings=found.warnings.room
        )
        found.errors.add(result.errors, result.error_count)
        found.warnings.add(result.warnings, result.warning_count)
        if not found.errors.count:
            # In line, a chunk's rows commit with the series and periods they need; copied in
            # the background they commit on the copy's own connection.
            with transaction.atomic() if writer is None else nullcontext():
                staged = stage_rows(upload, result.rows, set_places=False, ids=ids, writer=writer)
            found.staged.add(*staged)
            found.place_codes.update(result.rows["place_code"].unique())
        # Rows are records, as a spreadsheet numbers them, not lines.
        found.records += raw.data_rows
        # Each chunk commits, so the upload page sees the progress as it happens.
        done = found.records
        _progress(attempt, f"Checked {done:,} rows", min(90, 10 + done * 80 // ctx.max_rows))


def _no_data(upload: ReturnUpload) -> Issue:
    return _file_issue(
        "no_data",
        f"'{upload.original_name}' has a header but no data rows; expected at least one "
        "row of figures.",
    )


def _too_many_rows(upload: ReturnUpload, ctx: ReturnContext) -> Issue:
    return _file_issue(
        "too_many_rows",
        (
            f"'{upload.original_name}' has more than {ctx.max_rows:,} data rows; the largest "
            f"accepted is {ctx.max_rows:,}. Split it into smaller returns."
        ),
    )


def _unexpected(rows: pd.DataFrame, ctx: ReturnContext) -> list[Issue]:
    """Quarterly returns hold only values the calendar expects from the place (set-based)."""
    if rows.empty:
        return []
    expected = pd.DataFrame(list(ctx.expected), columns=["kpi_code", "place_code", "period_label"])
    merged = rows.merge(expected.assign(_expected=True), how="left")
    stray = merged[merged["_expected"].isna()]
    return [
        Issue(
            row=int(r.row),
            column="place_code",
            value=r.place_code,
            message=(
                f"KPI '{r.kpi_code}' is not expected from '{r.place_code}' for {r.period_label}; "
                "expected a KPI and place from this return's template."
            ),
            code="not_expected",
        )
        for r in stray.itertuples(index=False)
    ]


def _counted(issues: list[Issue] | IssueTally) -> tuple[int, list[Issue]]:
    """A chunked file hands over tallies: its first issues and the count of all of them."""
    if isinstance(issues, IssueTally):
        return issues.count, issues.kept
    return len(issues), issues


def _finish_or_superseded(attempt: _Attempt, **outcome) -> ReturnUpload:
    """Record the outcome; should the upload have been withdrawn (or taken over) meanwhile,
    it is left as it is and this attempt's staged rows are removed."""
    try:
        return _finish_validation(attempt, **outcome)
    except _Superseded:
        if not ReturnUpload.objects.filter(
            pk=attempt.upload.pk, validation_attempts__gt=attempt.number
        ).exists():
            staged_discard(upload=attempt.upload, ids=attempt.ids)
        return ReturnUpload.objects.get(pk=attempt.upload.pk)


@transaction.atomic
def _finish_validation(
    attempt: _Attempt, *, errors, warnings, rows, template_version="", row_count=0, staged=False
) -> ReturnUpload:
    """One conditional update to the final state, only while this attempt holds the upload
    (rows staged here roll back with it otherwise)."""
    upload = attempt.upload
    error_count, errors = _counted(errors)
    warning_count, warnings = _counted(warnings)
    if error_count or rows is None:
        state = State.VALIDATION_FAILED
    else:
        if not staged:
            _progress(attempt, "Staging the values", 70)
            stage_rows(upload, rows, ids=attempt.ids)
        state = State.VALIDATED
    outcome = {
        "state": state,
        "stage": "Finished",
        "percent": 100,
        "error_count": error_count,
        "warning_count": warning_count,
        "issues": _issue_dicts([*errors, *warnings]),
        "template_version": _storable(template_version)[:_VERSION_KEPT],
        "row_count": row_count,
    }
    person_level = sorted({i.code for i in errors} & PERSON_LEVEL_CODES)
    if person_level:
        outcome["issues"] = _issue_dicts([_deleted_notice(), *errors, *warnings])
        outcome["file"] = ""
    if not attempt.mine().update(**outcome):
        raise _Superseded
    audit(
        action=AuditEvent.Action.VALIDATED,
        upload=upload,
        errors=error_count,
        warnings=warning_count,
    )
    if person_level:
        _person_level_file_delete(upload, reasons=person_level)
    return ReturnUpload.objects.get(pk=upload.pk)


def _deleted_notice() -> Issue:
    return _file_issue(
        "person_level_deleted",
        "This file holds person-level data, so the service has deleted it: returns hold "
        "aggregate figures only. Nothing from it was stored; the audit log keeps only its "
        "checksum, who uploaded it and why it was refused. Remove the personal details and "
        "upload the figures again.",
    )


def _person_level_file_delete(upload: ReturnUpload, *, reasons: list[str]) -> None:
    """The file's bytes go once the refusal commits; its checksum, uploader and the reason
    stay in the audit log."""
    stored_name = upload.file.name
    audit(
        action=AuditEvent.Action.PERSON_LEVEL_DELETED,
        actor=upload.uploaded_by,
        upload=upload,
        checksum=upload.checksum,
        reasons=reasons,
    )
    transaction.on_commit(lambda: upload.file.storage.delete(stored_name))
