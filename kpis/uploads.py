"""Quarterly returns: upload, background validation, submission, four-eyes decision, ingestion.

States: received -> validating -> validation_failed | validated -> submitted ->
sent_back | approved; a return not yet approved can be withdrawn (recorded, never deleted).
Validation stages the rows; approval ingests them as new observation versions of the values
that changed, under a lock per series.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from strategy.access import Role, user_has_role, user_roles
from strategy.models import Place, PlaceGrant, User

from . import periods
from .models import (
    AuditEvent,
    Breakdown,
    Kpi,
    Observation,
    Period,
    ReportingExpectation,
    ReturnRow,
    ReturnUpload,
    Series,
)
from .recompute import progress_recompute_enqueue
from .returns.read import RawReturn, read_return
from .returns.spec import Issue, KpiSpec, PlaceSpec, ReturnContext, ReturnRejected
from .returns.validate import validate_return
from .services import decimal_6dp

State = ReturnUpload.State
REVIEWERS = {Role.SIG_MEMBER.value, Role.ADMINISTRATOR.value}
UPLOADERS = {Role.PLACE_LEAD.value, *REVIEWERS}


def audit(*, action: str, actor=None, upload=None, release=None, **detail) -> AuditEvent:
    """Record one event in the audit log."""
    return AuditEvent.objects.create(
        at=timezone.now(), actor=actor, action=action, upload=upload, release=release, detail=detail
    )


def _progress(upload: ReturnUpload, stage: str, percent: int) -> None:
    ReturnUpload.objects.filter(pk=upload.pk).update(stage=stage, percent=percent)


# Who may do what ---------------------------------------------------------------------------


def reportable_place_codes(user: User) -> set[str]:
    """Every place for reviewers; a place lead's explicitly granted places, nothing inherited."""
    roles = user_roles(user)
    if roles & REVIEWERS:
        return set(Place.objects.values_list("code", flat=True))
    if Role.PLACE_LEAD.value in roles:
        return set(PlaceGrant.objects.filter(user=user).values_list("place__code", flat=True))
    return set()


def _require_uploader(user: User, kind: str) -> None:
    roles = user_roles(user)
    if not roles & UPLOADERS:
        raise PermissionDenied("Only place leads and the Strategy Implementation Group upload.")
    if kind == ReturnUpload.Kind.HISTORY and not roles & REVIEWERS:
        raise PermissionDenied("History loads are for the Strategy Implementation Group.")


# Upload ------------------------------------------------------------------------------------


def upload_create(
    *,
    user: User,
    filename: str,
    content: bytes | IO[bytes],
    kind: str = ReturnUpload.Kind.QUARTERLY,
) -> tuple[ReturnUpload, bool]:
    """Keep the file and queue its validation; the same bytes again change nothing.

    ``content`` is the file's bytes or an open binary file (an upload, say), which is hashed
    and stored a chunk at a time, so a large file is never held in memory whole.

    Returns the upload and whether it is new: an identical file already uploaded (and not
    withdrawn) is returned as it is, so the caller can say so.
    """
    _require_uploader(user, kind)
    file = ContentFile(content) if isinstance(content, bytes) else File(content)
    limit = settings.RETURN_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            f"The file is {file.size:,} bytes; the largest accepted is {limit:,} bytes."
        )
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    checksum = digest.hexdigest()
    existing = ReturnUpload.objects.exclude(state=State.WITHDRAWN).filter(checksum=checksum)
    if (found := existing.first()) is not None:
        return found, False
    with transaction.atomic():
        upload = ReturnUpload(
            kind=kind,
            original_name=filename[:255],
            checksum=checksum,
            size=file.size,
            uploaded_by=user,
            uploaded_at=timezone.now(),
            stage="Waiting to be validated",
        )
        upload.file.save(f"{checksum[:16]}-{filename[-80:]}", file, save=False)
        upload.save()
        audit(action=AuditEvent.Action.UPLOAD, actor=user, upload=upload, checksum=checksum)
        upload_validate_enqueue(upload)
    return upload, True


def upload_validate_enqueue(upload: ReturnUpload) -> None:
    from .tasks import upload_validate_task

    transaction.on_commit(lambda: upload_validate_task.delay(upload.pk))


def return_context(*, user: User, kind: str, today: date | None = None) -> ReturnContext:
    """What a return from this user may contain: KPIs, places, open periods, limits."""
    today = today or timezone.localdate()
    kpis = {kpi.code: KpiSpec.from_model(kpi) for kpi in Kpi.objects.all()}
    places = {code: PlaceSpec(code=code) for code in Place.objects.values_list("code", flat=True)}
    reportable = frozenset(reportable_place_codes(user))
    categories: dict[str, set[str]] = {}
    for dimension, category in Breakdown.objects.values_list("dimension", "category"):
        categories.setdefault(dimension, set()).add(category)
    expectations = ReportingExpectation.objects.filter(place__code__in=reportable)
    status: dict[str, str] = {}
    expected = set()
    for label, kpi, place, locks_on, reopened in expectations.values_list(
        "period__label", "kpi__code", "place__code", "locks_on", "reopened_until"
    ):
        is_open = today <= locks_on or (reopened is not None and today <= reopened)
        # A label is open if it is open for any place this user reports for.
        if is_open or status.get(label) != "open":
            status[label] = "open" if is_open else "locked"
        if is_open:
            expected.add((kpi, place, label))
    return ReturnContext(
        previous=_previous_values(reportable),
        kpis=kpis,
        places=places,
        reportable_places=reportable,
        period_status=status,
        required_template_version=(
            settings.RETURN_TEMPLATE_VERSION if kind == ReturnUpload.Kind.QUARTERLY else None
        ),
        max_rows=settings.RETURN_MAX_ROWS,
        max_bytes=settings.RETURN_MAX_BYTES,
        expected=frozenset(expected) if kind == ReturnUpload.Kind.QUARTERLY else frozenset(),
        breakdown_categories={k: frozenset(v) for k, v in categories.items()},
        locally_supplied_only=kind == ReturnUpload.Kind.QUARTERLY,
    )


def _previous_values(place_codes) -> dict[tuple[str, str, str], tuple]:
    """Each series' latest value and process limits, for "far from before" warnings."""
    from .models import Assessment

    latest = Assessment.objects.filter(
        is_latest=True, series__place__code__in=place_codes
    ).values_list(
        "series__kpi__code",
        "series__place__code",
        "series__breakdown__dimension",
        "series__breakdown__category",
        "value",
        "spc_lower_limit",
        "spc_upper_limit",
    )
    return {
        (kpi, place, "all" if dimension == "all" else f"{dimension}:{category}"): (v, low, high)
        for kpi, place, dimension, category, v, low, high in latest
    }


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


class _IssueTally:
    """Every issue of a chunked file counted, but only as many kept as an upload stores, so
    memory does not grow with the file."""

    def __init__(self) -> None:
        self.kept: list[Issue] = []
        self.count = 0

    @property
    def room(self) -> int:
        return max(0, settings.RETURN_MAX_STORED_ISSUES - len(self.kept))

    def add(self, issues: list[Issue], count: int | None = None) -> None:
        """Add a chunk's issues (``count`` of them when only the first were built)."""
        if room := self.room:
            self.kept.extend(issues[:room])
        self.count += len(issues) if count is None else count


# A quoted cell spanning more lines than this is taken to be a stray quote mark instead.
MAX_LINES_IN_A_CELL = 1_000


@dataclass(frozen=True)
class _Chunk:
    content: bytes
    lines: int
    # Records (spreadsheet rows): fewer than lines when a quoted cell holds line breaks.
    records: int


def _csv_chunks(handle, chunk_rows: int):
    """The leading comment and header lines once, then the data in chunks of about
    ``chunk_rows`` lines, never ending inside a quoted cell; each chunk is decoded, and its
    encoding checked, by the reader like a whole file."""
    from itertools import islice

    prefix = []
    for line in handle:
        prefix.append(line)
        if not line.removeprefix(b"\xef\xbb\xbf").startswith(b"#"):
            break
    yield b"".join(prefix)
    while lines := list(islice(handle, chunk_rows)):
        content = b"".join(lines)
        records = len(lines)
        if b'"' in content:
            # A record ends where the count of quote marks so far is even.
            odd = False
            records = 0
            for line in lines:
                odd ^= bool(line.count(b'"') & 1)
                records += not odd
            extra = []
            while odd and len(extra) < MAX_LINES_IN_A_CELL:
                if (line := next(handle, None)) is None:
                    break
                extra.append(line)
                odd ^= bool(line.count(b'"') & 1)
                records += not odd
            if extra:
                content += b"".join(extra)
                lines += extra
            records += odd  # a cell left open still ends a record for the reader
        yield _Chunk(content, len(lines), records)


class _StagedValues:
    """Which values (series and period) of a file are staged, exactly: a bit for each pair of
    the series and periods the file holds. Memory follows how many series and periods there
    are, not how many rows: a million rows of 1,000 series over 3,000 periods take 375 kB."""

    def __init__(self) -> None:
        self.series: dict[int, int] = {}
        self.periods: dict[int, int] = {}
        self.bits = np.zeros((0, 0), dtype=np.uint8)
        self.repeated = False

    @staticmethod
    def _positions(index: dict[int, int], ids: np.ndarray) -> np.ndarray:
        for new in pd.unique(ids).tolist():
            index.setdefault(new, len(index))
        return pd.Index(list(index)).get_indexer(ids)

    def add(self, series_ids: np.ndarray, period_ids: np.ndarray) -> None:
        """Record a chunk's values (distinct within it, as validated); note any seen before."""
        rows = self._positions(self.series, series_ids)
        columns = self._positions(self.periods, period_ids)
        shape = (len(self.series), -(-len(self.periods) // 8))
        if shape[0] > self.bits.shape[0] or shape[1] > self.bits.shape[1]:
            # A side that must grow grows by half again at least, so a file of ever new series
            # (or periods) is not copied often; a side that need not grow stays as it is.
            grown = np.zeros(
                tuple(
                    have if need <= have else max(need, have * 3 // 2)
                    for need, have in zip(shape, self.bits.shape, strict=True)
                ),
                dtype=np.uint8,
            )
            grown[: self.bits.shape[0], : self.bits.shape[1]] = self.bits
            self.bits = grown
        byte, bit = columns >> 3, np.left_shift(1, columns & 7).astype(np.uint8)
        if (self.bits[rows, byte] & bit).any():
            self.repeated = True
        np.bitwise_or.at(self.bits, (rows, byte), bit)


@dataclass
class _ChunkedCheck:
    """What checking a large file chunk by chunk has found so far."""

    errors: _IssueTally = field(default_factory=_IssueTally)
    warnings: _IssueTally = field(default_factory=_IssueTally)
    place_codes: set[str] = field(default_factory=set)
    records: int = 0
    template_version: str = ""
    has_data: bool = False
    # Issues of the header and file as a whole, which every chunk would otherwise repeat.
    file_issues: set[tuple] = field(default_factory=set)
    # The values staged so far, to find one given again in a later chunk without asking the
    # database (which is asked only then, to name the rows).
    staged: _StagedValues = field(default_factory=_StagedValues)

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
    writer = _BackgroundCopy.where_useful()
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
        errors.add(_staged_duplicates(upload))
    if errors.count:
        # All or nothing: the staged rows of a failed file are removed.
        ReturnRow.objects.filter(upload=upload).delete()
        return _finish_validation(
            upload, errors=errors, warnings=found.warnings, rows=None, row_count=found.records
        )
    upload.places.set(Place.objects.filter(code__in=found.place_codes))
    if _fast_path():
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
    chunks = _csv_chunks(handle, settings.RETURN_CHUNK_ROWS)
    ids = _StagingIds()
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
                staged = _stage_rows(upload, result.rows, set_places=False, ids=ids, writer=writer)
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


def _staged_duplicates(upload: ReturnUpload) -> list[Issue]:
    """Rows staged twice for one KPI, place, period and breakdown (set-based)."""
    from django.db.models import Count, Min

    from .returns.validate import DUPLICATE_COLUMNS

    repeated = (
        ReturnRow.objects.filter(upload=upload)
        .values("series_id", "period_id")
        .annotate(n=Count("id"), first=Min("row"))
        .filter(n__gt=1)
    )
    firsts = {(r["series_id"], r["period_id"]): r["first"] for r in repeated}
    if not firsts:
        return []
    issues = []
    for series_id, period_id, row in (
        ReturnRow.objects.filter(upload=upload, series_id__in={s for s, _ in firsts})
        .values_list("series_id", "period_id", "row")
        .order_by("row")
    ):
        first = firsts.get((series_id, period_id))
        if first is not None and row != first:
            issues.append(
                Issue(
                    row=row,
                    column=DUPLICATE_COLUMNS,
                    value="",
                    message=f"This row repeats row {first}; expected each KPI, place, period "
                    "and breakdown once.",
                    code="duplicate_row",
                )
            )
    return issues


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


def _counted(issues: list[Issue] | _IssueTally) -> tuple[int, list[Issue]]:
    """A chunked file hands over tallies: its first issues and the count of all of them."""
    if isinstance(issues, _IssueTally):
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
            _stage_rows(upload, rows)
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


class _StagingIds:
    """The series and period id of each validated row, creating those that do not exist yet.

    Each distinct series and period of a chunk is looked up once (rows carry the validator's
    ``series_key`` and ``period_key``), and ids found are remembered for the file's later
    chunks, so a large file asks the database about each series and period only once.
    """

    SERIES_COLUMNS = ["kpi_code", "place_code", "breakdown_dimension", "breakdown_category"]
    PERIOD_COLUMNS = ["period_label", "period_type", "period_start", "period_end"]

    def __init__(self) -> None:
        self.series: dict[tuple, int] = {}
        self.periods: dict[str, int] = {}
        self._catalogue: tuple[dict, dict, dict] | None = None

    @staticmethod
    def _keyed(rows: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
        """Rows not from the validator (a national file's, say) are keyed here."""
        if key in rows:
            return rows
        groups = rows.groupby(columns, sort=False, dropna=False).ngroup()
        return rows.assign(**{key: groups.to_numpy()})

    def series_ids(self, rows: pd.DataFrame) -> np.ndarray:
        rows = self._keyed(rows, "series_key", self.SERIES_COLUMNS)
        firsts = rows.drop_duplicates("series_key")[["series_key", *self.SERIES_COLUMNS]]
        keys = list(firsts[self.SERIES_COLUMNS].itertuples(index=False, name=None))
        if missing := [key for key in keys if key not in self.series]:
            self.series.update(self._series_of(missing))
        ids = np.array([self.series[key] for key in keys], dtype=np.int64)
        return ids[pd.Index(firsts["series_key"]).get_indexer(rows["series_key"])]

    def period_ids(self, rows: pd.DataFrame) -> np.ndarray:
        rows = self._keyed(rows, "period_key", ["period_label"])
        firsts = rows.drop_duplicates("period_key")[["period_key", *self.PERIOD_COLUMNS]]
        missing = firsts[~firsts["period_label"].isin(self.periods)]
        if not missing.empty:
            self.periods.update(_periods_of(missing))
        ids = np.array([self.periods[label] for label in firsts["period_label"]], dtype=np.int64)
        return ids[pd.Index(firsts["period_key"]).get_indexer(rows["period_key"])]

    def _series_of(self, keys: list[tuple[str, str, str, str]]) -> dict[tuple, int]:
        """Series ids by (KPI code, place code, breakdown dimension, category), creating those
        missing; every key is a validated one, so its KPI, place and breakdown exist."""
        if self._catalogue is None:
            self._catalogue = (
                dict(Kpi.objects.values_list("code", "id")),
                dict(Place.objects.values_list("code", "id")),
                {
                    (d, c): pk
                    for pk, d, c in Breakdown.objects.values_list("id", "dimension", "category")
                },
            )
        kpi_ids, place_ids, breakdown_ids = self._catalogue
        by_ids = {
            (kpi_ids[kpi], place_ids[place], breakdown_ids[(dimension, category)]): key
            for key in keys
            for kpi, place, dimension, category in [key]
        }

        def existing() -> dict[tuple, int]:
            found = Series.objects.filter(
                kpi_id__in={k for k, _, _ in by_ids}, place_id__in={p for _, p, _ in by_ids}
            ).values_list("kpi_id", "place_id", "breakdown_id", "id")
            return {by_ids[(k, p, b)]: pk for k, p, b, pk in found if (k, p, b) in by_ids}

        return _found_or_created(
            Series,
            existing,
            len(keys),
            lambda found: [
                Series(kpi_id=k, place_id=p, breakdown_id=b)
                for (k, p, b), key in by_ids.items()
                if key not in found
            ],
            key_of=lambda series: by_ids[(series.kpi_id, series.place_id, series.breakdown_id)],
        )


def _periods_of(firsts: pd.DataFrame) -> dict[str, int]:
    """Period ids by canonical label, creating those missing."""
    labels = firsts["period_label"].tolist()
    return _found_or_created(
        Period,
        lambda: dict(Period.objects.filter(label__in=labels).values_list("label", "id")),
        len(labels),
        lambda found: [
            Period(label=r.period_label, type=r.period_type, start=r.period_start, end=r.period_end)
            for r in firsts.itertuples(index=False)
            if r.period_label not in found
        ],
        key_of=lambda period: period.label,
    )


def _found_or_created(model, existing, wanted: int, missing, *, key_of) -> dict:
    """``existing()`` ids by key; when fewer than ``wanted``, the ``missing(found)`` objects
    are created and their ids added, by ``key_of`` each. Should another upload have created
    one meanwhile, they are created again skipping those, and the ids read again."""
    found = existing()
    if len(found) < wanted:
        objects = missing(found)
        try:
            with transaction.atomic():
                model.objects.bulk_create(objects)
        except IntegrityError:
            model.objects.bulk_create(missing(found), ignore_conflicts=True)
            return existing()
        found.update((key_of(obj), obj.pk) for obj in objects)
    return found


def _fast_path() -> bool:
    """COPY and set-based SQL on PostgreSQL; portable ORM and pandas everywhere else."""
    return connection.vendor == "postgresql" and settings.RETURN_SQL_FAST_PATH


STAGED_COLUMNS = [
    "upload_id",
    "row",
    "series_id",
    "period_id",
    "numerator",
    "denominator",
    "value",
    "suppressed",
    "marker",
    "comment",
]


DECIMAL_COLUMNS = ("numerator", "denominator", "value")


def _staged_frame(upload: ReturnUpload, rows: pd.DataFrame, ids: _StagingIds) -> pd.DataFrame:
    """Validated rows as ``kpis_returnrow`` holds them."""
    return pd.DataFrame(
        {
            "upload_id": upload.pk,
            "row": rows["row"].astype(int),
            "series_id": ids.series_ids(rows),
            "period_id": ids.period_ids(rows),
            "numerator": rows["numerator"].round(6),
            "denominator": rows["denominator"].round(6),
            "value": rows["value"].round(6),
            "suppressed": rows["suppressed"].astype(bool),
            "marker": _shortened(rows["marker"], 10),
            "comment": rows["comment"],
        }
    )


def _stage_rows(
    upload: ReturnUpload,
    rows: pd.DataFrame,
    *,
    set_places: bool = True,
    ids: _StagingIds | None = None,
    writer: _BackgroundCopy | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stage validated rows: PostgreSQL's COPY where available (on ``writer``'s connection when
    given), bulk inserts elsewhere. ``ids`` carries series and period ids from chunk to chunk.
    Returns the rows' series and period ids."""
    staged = _staged_frame(upload, rows, ids or _StagingIds())
    if writer is not None:
        writer.write(staged)
    elif _fast_path():
        _copy_into("kpis_returnrow", staged)
    else:
        ReturnRow.objects.bulk_create(
            [
                ReturnRow(
                    **{
                        **record,
                        **{
                            k: decimal_6dp(record[k]) for k in ("numerator", "denominator", "value")
                        },
                    }
                )
                for record in staged.to_dict("records")
            ],
            batch_size=5000,
        )
    if set_places:
        upload.places.set(Place.objects.filter(code__in=rows["place_code"].unique()))
    return staged["series_id"].to_numpy(), staged["period_id"].to_numpy()


def _shortened(texts: pd.Series, limit: int) -> np.ndarray:
    """Each text cut to ``limit`` characters, once per distinct text."""
    codes, uniques = pd.factorize(texts.to_numpy(dtype=object), use_na_sentinel=False)
    shortened = np.array([str(u)[:limit] for u in uniques], dtype=object)[codes]
    return pd.Series(shortened, texts.index, object, copy=False)  # no string inference


# Rows per piece of a COPY: small enough that a written piece waits in the socket buffer, so
# PostgreSQL has it to read while Arrow writes the next (0.1 s faster for a million rows).
COPY_PIECE_ROWS = 25_000


def _copy_into(table: str, frame: pd.DataFrame) -> None:
    """Stream a frame into a table with COPY, in pieces so memory stays flat.

    Arrow writes the CSV (several times faster than pandas): a null is an unquoted empty
    field and an empty string is quoted, which is exactly how PostgreSQL's CSV COPY reads them.
    """
    columns = ", ".join(frame.columns)
    options = pa_csv.WriteOptions(include_header=False)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, len(frame), COPY_PIECE_ROWS):
                piece = pa.Table.from_pandas(
                    frame.iloc[start : start + COPY_PIECE_ROWS], preserve_index=False
                )
                sink = pa.BufferOutputStream()
                pa_csv.write_csv(piece, sink, options)
                copy.write(sink.getvalue())


class _BackgroundCopy:
    """COPY of staged chunks into ``kpis_returnrow`` on a second connection, in a thread, while
    the caller validates the next chunk: PostgreSQL takes the rows on one core as pandas checks
    the next ones on the other.

    Only for chunks that commit one by one anyway (PostgreSQL, no enclosing transaction);
    inside a transaction, chunks are copied in line so they stay in it. At most one chunk
    waits, so memory stays flat; a failure is raised to the caller at the next chunk or at
    ``close``, which waits for every chunk to be written.

    Series and periods are looked up by the caller: lookups in this thread would contend with
    the checking for the interpreter, and measured slower.
    """

    def __init__(self) -> None:
        import queue
        import threading

        self._chunks: queue.Queue = queue.Queue(maxsize=1)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="staging-copy", daemon=True)
        self._thread.start()

    @classmethod
    def where_useful(cls) -> _BackgroundCopy | None:
        return cls() if _fast_path() and not connection.in_atomic_block else None

    def _run(self) -> None:
        try:
            while (frame := self._chunks.get()) is not None:
                if self._error is None:
                    try:
                        _copy_into("kpis_returnrow", frame)
                    except Exception as error:  # noqa: BLE001 - handed to the caller
                        self._error = error
        finally:
            connection.close()  # this thread's own connection

    def write(self, frame: pd.DataFrame) -> None:
        if self._error is not None:
            raise self._error
        self._chunks.put(frame)

    def close(self, *, raise_error: bool = True) -> None:
        self._chunks.put(None)
        self._thread.join()
        if raise_error and self._error is not None:
            raise self._error


# Submission and decisions ------------------------------------------------------------------


def _may_act_for_all_places(user: User, upload: ReturnUpload) -> bool:
    codes = set(upload.places.values_list("code", flat=True))
    return codes <= reportable_place_codes(user)


@transaction.atomic
def upload_submit(*, upload: ReturnUpload, user: User, confirm_warnings: bool) -> ReturnUpload:
    """The place lead confirms a validated return (and its warnings) for review."""
    upload = ReturnUpload.objects.select_for_update().get(pk=upload.pk)
    if not _may_act_for_all_places(user, upload):
        raise PermissionDenied("You may not submit for every place in this return.")
    if upload.state != State.VALIDATED:
        raise ValidationError(f"A {upload.get_state_display().lower()} return cannot be submitted.")
    if upload.warning_count and not confirm_warnings:
        raise ValidationError("Confirm the warnings before submitting.")
    upload.warnings_confirmed = bool(upload.warning_count)
    upload.state = State.SUBMITTED
    upload.submitted_by = user
    upload.submitted_at = timezone.now()
    upload.save()
    audit(action=AuditEvent.Action.SUBMIT, actor=user, upload=upload)
    return upload


@transaction.atomic
def upload_decide(
    *, upload: ReturnUpload, user: User, approve: bool, reason: str = ""
) -> ReturnUpload:
    """Approve or send back a submitted return; nobody decides on a return they handled."""
    upload = ReturnUpload.objects.select_for_update().get(pk=upload.pk)
    if not (user_roles(user) & REVIEWERS):
        raise PermissionDenied("Only the Strategy Implementation Group decides on returns.")
    if user.pk in (upload.uploaded_by_id, upload.submitted_by_id):
        raise PermissionDenied("Four eyes: you uploaded or submitted this return.")
    if upload.state != State.SUBMITTED:
        raise ValidationError(f"A {upload.get_state_display().lower()} return cannot be decided.")
    if not approve and not reason.strip():
        raise ValidationError("Say why the return is sent back.")
    upload.state = State.APPROVED if approve else State.SENT_BACK
    upload.decided_by = user
    upload.decided_at = timezone.now()
    upload.decision_reason = reason.strip()
    upload.save()
    action = AuditEvent.Action.APPROVE if approve else AuditEvent.Action.SEND_BACK
    audit(action=action, actor=user, upload=upload, reason=upload.decision_reason)
    if approve:
        upload.values_changed = upload_ingest(upload=upload, actor=user)
    return upload


@transaction.atomic
def upload_withdraw(*, upload: ReturnUpload, user: User, reason: str) -> ReturnUpload:
    """Withdraw a mistaken return before approval: recorded, never deleted."""
    upload = ReturnUpload.objects.select_for_update().get(pk=upload.pk)
    if user.pk != upload.uploaded_by_id and not user_has_role(user, Role.ADMINISTRATOR):
        raise PermissionDenied("Only the uploader or an administrator withdraws a return.")
    if upload.state in (State.APPROVED, State.WITHDRAWN):
        raise ValidationError(
            "An approved return is corrected by a new return, not withdrawn."
            if upload.state == State.APPROVED
            else "The return is already withdrawn."
        )
    upload.state = State.WITHDRAWN
    upload.decision_reason = reason.strip()
    upload.save()
    audit(action=AuditEvent.Action.WITHDRAW, actor=user, upload=upload, reason=reason)
    return upload


# Ingestion ---------------------------------------------------------------------------------

VALUE_COLUMNS = ["numerator", "denominator", "value", "suppressed", "marker"]


def upload_ingest(*, upload: ReturnUpload, actor: User | None) -> int:
    """Write an approved return's changed values as new current versions; returns how many."""
    change_reason = f"Return {upload.pk}: {upload.original_name}"
    if _fast_path():
        changed = _ingest_staged_sql(upload, change_reason=change_reason)
    else:
        staged = pd.DataFrame.from_records(
            ReturnRow.objects.filter(upload=upload).values(
                "row", "series_id", "period_id", *VALUE_COLUMNS, "comment"
            )
        )
        changed = observations_ingest(
            staged.rename(columns={"comment": "note", "row": "source_row"}),
            recorded_by=upload.uploaded_by,
            change_reason=change_reason,
            source_upload=upload,
        )
    ReturnUpload.objects.filter(pk=upload.pk).update(values_changed=changed.changed)
    audit(
        action=AuditEvent.Action.VALUES_CHANGED,
        actor=actor,
        upload=upload,
        changed=changed.changed,
        revised=changed.revised,
    )
    return changed.changed


# Set-based ingest, in three steps inside the approval's transaction, with every series of the
# return locked first. One comparison with the current versions finds what changed; retiring
# and inserting then touch only the changed values, so a corrected resubmission of a large
# file costs the comparison and its changes, not the file twice over.

# 1. The staged values that differ from their current versions, or have none, with the
#    current version each replaces.
CHANGES_SQL = """
CREATE TEMP TABLE ingest_changes ON COMMIT DROP AS
SELECT r.row, r.series_id, r.period_id, r.numerator, r.denominator, r.value, r.suppressed,
  r.marker, r.comment, o.id AS current_id
FROM kpis_returnrow r
LEFT JOIN kpis_observation o
  ON o.series_id = r.series_id AND o.period_id = r.period_id AND o.is_current
WHERE r.upload_id = %(upload)s AND (o.id IS NULL
  OR o.numerator IS DISTINCT FROM r.numerator OR o.denominator IS DISTINCT FROM r.denominator
  OR o.value IS DISTINCT FROM r.value OR o.suppressed <> r.suppressed OR o.marker <> r.marker)
"""

# 2. Retire the current versions the return changes.
RETIRE_SQL = """
UPDATE kpis_observation o SET is_current = false
FROM ingest_changes c WHERE o.id = c.current_id
"""


def _versions_insert(source: str, version: str) -> str:
    """INSERT of staged values as current, approved observation versions: one per row of
    ``source`` (aliased ``c``), numbered by the expression ``version``."""
    return f"""
INSERT INTO kpis_observation (
  series_id, period_id, version, is_current, numerator, denominator, value, suppressed, rounded,
  marker, note, ci_method, denominator_source, synthetic, recorded_at, recorded_by_id,
  change_reason, approved, source_upload_id, source_row)
SELECT c.series_id, c.period_id, {version}, true, c.numerator, c.denominator, c.value,
  c.suppressed, false, c.marker, c.comment, '', '', false, %(now)s, %(user)s, %(reason)s, true,
  %(upload)s, c.row
FROM {source}
"""


# 3. Each changed value becomes the next version after the latest in its history, looked up
#    for the changed values only (the unique index on series, period and version holds it).
INSERT_SQL = _versions_insert(
    "ingest_changes c",
    "COALESCE((SELECT max(h.version) FROM kpis_observation h "
    "WHERE h.series_id = c.series_id AND h.period_id = c.period_id), 0) + 1",
)

MARK_SQL = """
UPDATE kpis_series SET needs_recompute = true
WHERE id IN (SELECT DISTINCT series_id FROM ingest_changes)
"""

# A return whose series have no observations at all (a first load of history) changes every
# value it holds: each becomes version 1, with nothing to compare or retire.
FIRST_LOAD_SQL = _versions_insert("kpis_returnrow c WHERE c.upload_id = %(upload)s", "1")


def _ingest_staged_sql(upload: ReturnUpload, *, change_reason: str) -> IngestResult:
    """The same comparison and versioning as observations_ingest, set-based in PostgreSQL."""
    series_ids = list(
        ReturnRow.objects.filter(upload=upload).values_list("series_id", flat=True).distinct()
    )
    list(Series.objects.select_for_update().filter(id__in=series_ids).order_by("id"))
    parameters = {
        "upload": upload.pk,
        "now": timezone.now(),
        "user": upload.uploaded_by_id,
        "reason": change_reason,
    }
    with connection.cursor() as cursor:
        if not Observation.objects.filter(series_id__in=series_ids).exists():
            cursor.execute(FIRST_LOAD_SQL, parameters)
            changed, revised = cursor.rowcount, 0
            Series.objects.filter(id__in=series_ids).update(needs_recompute=True)
        else:
            cursor.execute(CHANGES_SQL, parameters)
            # Planned from the real number of changes: a few are retired by their ids.
            cursor.execute("ANALYZE ingest_changes")
            cursor.execute(RETIRE_SQL, parameters)
            revised = cursor.rowcount
            cursor.execute(INSERT_SQL, parameters)
            changed = cursor.rowcount
            cursor.execute(MARK_SQL, parameters)
            # Dropped now, not at commit: one transaction may approve several returns.
            cursor.execute("DROP TABLE ingest_changes")
    progress_recompute_enqueue()
    return IngestResult(changed, revised)


@dataclass(frozen=True)
class IngestResult:
    changed: int
    revised: int


OPTIONAL_COLUMNS = {
    "note": "",
    "source_row": None,
    "ci_lower": None,
    "ci_upper": None,
    "ci_level": None,
    "ci_method": "",
}


def observations_ingest(
    frame: pd.DataFrame,
    *,
    recorded_by: User | None,
    change_reason: str,
    source_upload: ReturnUpload | None = None,
    source_publication=None,
) -> IngestResult:
    """Add a new current version for every value that changed; unchanged values are skipped.

    ``frame`` has series_id, period_id, the value columns and optionally note, source_row and
    a published interval. Call inside a transaction.

    1. Lock every series touched (in id order, so concurrent ingests queue rather than
       deadlock); the partial unique index guarantees one current version whatever happens.
    2. Compare with the current versions in pandas: unchanged values are skipped.
    3. Retire the changed current versions and insert the new ones, each tracing back to its
       file (and row); mark the series whose values changed for recomputation.
    """
    if frame.empty:
        return IngestResult(0, 0)
    frame = frame.assign(**{k: v for k, v in OPTIONAL_COLUMNS.items() if k not in frame})
    series_ids = sorted(frame["series_id"].unique().tolist())
    list(Series.objects.select_for_update().filter(id__in=series_ids).order_by("id"))
    current = pd.DataFrame.from_records(
        Observation.objects.filter(is_current=True, series_id__in=series_ids)
        .filter(period_id__in=frame["period_id"].unique().tolist())
        .values("id", "series_id", "period_id", *VALUE_COLUMNS),
        columns=["id", "series_id", "period_id", *VALUE_COLUMNS],
    )
    merged = frame.merge(
        current, on=["series_id", "period_id"], how="left", suffixes=("", "_current")
    )
    changed = merged["id"].isna()
    for column in VALUE_COLUMNS:
        new, old = merged[column], merged[f"{column}_current"]
        changed |= ~((new == old) | (new.isna() & old.isna()))
    merged = merged[changed]
    if merged.empty:
        return IngestResult(0, 0)
    retired = merged["id"].dropna().astype(int).tolist()
    history = _last_versions(series_ids)
    Observation.objects.filter(id__in=retired).update(is_current=False)
    now = timezone.now()
    merged = merged.astype(object).where(pd.notna(merged), None)
    Observation.objects.bulk_create(
        [
            Observation(
                series_id=r.series_id,
                period_id=r.period_id,
                version=history.get((r.series_id, r.period_id), 0) + 1,
                is_current=True,
                numerator=r.numerator,
                denominator=r.denominator,
                value=r.value,
                suppressed=bool(r.suppressed),
                marker=r.marker or "",
                note=r.note or "",
                ci_lower=r.ci_lower,
                ci_upper=r.ci_upper,
                ci_level=r.ci_level,
                ci_method=r.ci_method or "",
                approved=True,
                recorded_at=now,
                recorded_by=recorded_by,
                change_reason=change_reason,
                source_upload=source_upload,
                source_row=r.source_row,
                source_publication=source_publication,
            )
            for r in merged.itertuples(index=False)
        ],
        batch_size=5000,
    )
    Series.objects.filter(id__in=merged["series_id"].unique().tolist()).update(needs_recompute=True)
    progress_recompute_enqueue()
    return IngestResult(len(merged), len(retired))


def _last_versions(series_ids: list[int]) -> dict[tuple[int, int], int]:
    from django.db.models import Max

    rows = (
        Observation.objects.filter(series_id__in=series_ids)
        .values("series_id", "period_id")
        .annotate(last=Max("version"))
    )
    return {(r["series_id"], r["period_id"]): r["last"] for r in rows}
