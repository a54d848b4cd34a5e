"""Validating an uploaded return in the background: read, check every row, stage the clean
rows, all or nothing. A file over ``RETURN_CHUNK_BYTES`` is checked and staged chunk by chunk so
memory stays flat; a repeat run of the same upload does nothing.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace

import pandas as pd
from django.conf import settings
from django.core.files.base import File
from django.db import connection, transaction

from strategy.models import Place

from .. import periods
from ..bulk.copy import BackgroundCopy, fast_path
from ..bulk.staging import StagedValues, StagingIds, stage_rows
from ..models import AuditEvent, ReturnRow, ReturnUpload
from ..returns.chunks import IssueTally, csv_chunks
from ..returns.read import RawReturn, read_return
from ..returns.spec import Issue, ReturnContext, ReturnRejected
from ..returns.validate import validate_return
from ..selectors.returns import return_context, staged_duplicate_issues
from .audit import audit

State = ReturnUpload.State


def _progress(upload: ReturnUpload, stage: str, percent: int) -> None:
    ReturnUpload.objects.filter(pk=upload.pk).update(stage=stage, percent=percent)


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
        {name: getattr(issue, name) for name in _ISSUE_FIELDS}
        for issue in issues[: settings.RETURN_MAX_STORED_ISSUES]
    ]


def upload_validate(*, upload_id: int) -> ReturnUpload | None:
    """Read, validate and stage a received upload; a repeat run does nothing."""
    claimed = ReturnUpload.objects.filter(pk=upload_id, state=State.RECEIVED).update(
        state=State.VALIDATING, stage="Reading the file", percent=5
    )
    if not claimed:
        return None
    upload = ReturnUpload.objects.select_related("uploaded_by").get(pk=upload_id)
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
            return _validate_in_chunks(upload, raw, ctx)
        content = handle.read()
    try:
        raw = read_return(upload.original_name, content, ctx)
    except ReturnRejected as rejected:
        return _finish_validation(upload, errors=rejected.issues, warnings=[], rows=None)
    if upload.kind == ReturnUpload.Kind.HISTORY:
        ctx = _open_history_periods(ctx, raw)
    _progress(upload, "Checking every row", 40)
    result = validate_return(raw, ctx)
    errors = result.errors
    if upload.kind == ReturnUpload.Kind.QUARTERLY:
        errors = [*errors, *_unexpected(result.rows, ctx)]
    rows = result.rows if not errors else None
    return _finish_validation(
        upload,
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


def _validate_in_chunks(upload: ReturnUpload, handle, ctx: ReturnContext) -> ReturnUpload:
    """Validate and stage a large CSV chunk by chunk, all or nothing.

    1. Each chunk (the header repeated) is read and validated exactly as a whole file is, its
       rows numbered as in the whole file.
    2. Clean rows are staged as they go, a chunk at a time (copied in the background while
       the next chunk is checked, where that is possible).
    3. A value given again in a later chunk is noticed in memory and its rows named from the
       staging table; after any error anywhere the staged rows are removed, so nothing from
       the file is kept.
    """
    found = _ChunkedCheck()
    writer = BackgroundCopy.where_useful()
    try:
        _check_and_stage_chunks(upload, handle, ctx, found, writer)
    except Exception:
        if writer is not None:
            writer.close(raise_error=False)
        # Nothing of a file that could not be checked is kept, and the uploader is told.
        ReturnRow.objects.filter(upload=upload).delete()
        failure = Issue(
            row=None,
            column=None,
            value="",
            message="The file could not be checked because of a fault in the service; nothing "
            "from it was stored. Ask an administrator to look at the service's log.",
            code="internal_error",
        )
        ReturnUpload.objects.filter(pk=upload.pk).update(
            state=State.VALIDATION_FAILED,
            stage="Could not be checked",
            percent=100,
            error_count=1,
            issues=_issue_dicts([failure]),
        )
        raise
    if writer is not None:
        writer.close()  # every staged chunk is written before it is checked or removed
    errors = found.errors
    if not errors.count and not found.has_data:
        errors.add([_no_data(upload)])
    if not errors.count and found.staged.repeated:
        errors.add(staged_duplicate_issues(upload=upload))
    if errors.count:
        # All or nothing: the staged rows of a failed file are removed.
        ReturnRow.objects.filter(upload=upload).delete()
        return _finish_validation(
            upload, errors=errors, warnings=found.warnings, rows=None, row_count=found.records
        )
    upload.places.set(Place.objects.filter(code__in=found.place_codes))
    if fast_path():
        # Approval's set-based ingest is planned from these statistics: without them, a
        # million rows just copied in are estimated as a few thousand.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kpis_returnrow (upload_id, series_id, period_id)")
    return _finish_validation(
        upload,
        errors=errors,
        warnings=found.warnings,
        rows=pd.DataFrame(),
        template_version=found.template_version,
        row_count=found.records,
        staged=True,
    )


def _check_and_stage_chunks(upload, handle, ctx, found: _ChunkedCheck, writer) -> None:
    chunks = csv_chunks(handle, settings.RETURN_CHUNK_ROWS)
    ids = StagingIds()
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
        _progress(upload, f"Checked {done:,} rows", min(90, 10 + done * 80 // ctx.max_rows))


def _no_data(upload: ReturnUpload) -> Issue:
    return Issue(
        row=None,
        column=None,
        value="",
        message=f"'{upload.original_name}' has a header but no data rows; expected at least one "
        "row of figures.",
        code="no_data",
    )


def _too_many_rows(upload: ReturnUpload, ctx: ReturnContext) -> Issue:
    return Issue(
        row=None,
        column=None,
        value="",
        message=(
            f"'{upload.original_name}' has more than {ctx.max_rows:,} data rows; the largest "
            f"accepted is {ctx.max_rows:,}. Split it into smaller returns."
        ),
        code="too_many_rows",
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


@transaction.atomic
def _finish_validation(
    upload, *, errors, warnings, rows, template_version="", row_count=0, staged=False
):
    error_count, errors = _counted(errors)
    warning_count, warnings = _counted(warnings)
    if error_count or rows is None:
        upload.state = State.VALIDATION_FAILED
    else:
        if not staged:
            _progress(upload, "Staging the values", 70)
            stage_rows(upload, rows)
        upload.state = State.VALIDATED
    upload.stage = "Finished"
    upload.percent = 100
    upload.error_count = error_count
    upload.warning_count = warning_count
    upload.issues = _issue_dicts([*errors, *warnings])
    upload.template_version = template_version
    upload.row_count = row_count
    upload.save()
    audit(
        action=AuditEvent.Action.VALIDATED,
        upload=upload,
        errors=error_count,
        warnings=warning_count,
    )
    return upload
