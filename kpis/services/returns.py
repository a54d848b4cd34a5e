"""Quarterly returns: upload, submission, the four-eyes decision and ingestion.

States: received -> validating -> validation_failed | validated -> submitted ->
sent_back | approved; a return not yet approved can be withdrawn (recorded, never deleted).
Validation (``services.validation``) stages the rows; approval ingests them as new observation
versions of the values that changed, under a lock per series.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import IO

import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from strategy.access import Action, user_can, user_can_for_all
from strategy.models import User

from ..bulk.copy import fast_path
from ..bulk.ingest import staged_ingest
from ..models import AuditEvent, ReturnRow, ReturnUpload
from ..selectors.returns import uploads_visible_to
from .audit import audit
from .enqueue import progress_recompute_enqueue, upload_approve_enqueue, upload_validate_enqueue
from .observations import VALUE_COLUMNS, observations_ingest
from .validation import upload_validate

State = ReturnUpload.State


def _require_uploader(user: User, kind: str) -> None:
    if not user_can(user, Action.UPLOAD_RETURN):
        raise PermissionDenied("Only place leads and the Strategy Implementation Group upload.")
    if kind == ReturnUpload.Kind.HISTORY and not user_can(user, Action.UPLOAD_HISTORY):
        raise PermissionDenied("History loads are for the Strategy Implementation Group.")


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
    file = _sized_file(content)
    checksum = _sha256(file)
    if (found := _same_file_seen_by(user, checksum)) is not None:
        return found, False
    with transaction.atomic():
        upload = _stored_upload(
            user=user, filename=filename, file=file, kind=kind, checksum=checksum
        )
        audit(action=AuditEvent.Action.UPLOAD, actor=user, upload=upload, checksum=checksum)
        upload_validate_enqueue(upload.pk)
    return upload, True


def _same_file_seen_by(user: User, checksum: str) -> ReturnUpload | None:
    """A live upload of the same bytes that this user may see, if any: never one they may not
    (that would reveal another organisation's file), nor one that failed or was withdrawn."""
    return (
        uploads_visible_to(user=user)
        .filter(checksum=checksum)
        .exclude(state__in=[State.WITHDRAWN, State.VALIDATION_FAILED])
        .order_by("uploaded_at")
        .first()
    )


def _sized_file(content: bytes | IO[bytes]) -> File:
    file = ContentFile(content) if isinstance(content, bytes) else File(content)
    limit = settings.RETURN_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            f"The file is {file.size:,} bytes; the largest accepted is {limit:,} bytes."
        )
    return file


def _sha256(file: File) -> str:
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    return digest.hexdigest()


def display_filename(filename: str) -> str:
    """The name a file is shown by: its last path part, without control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return (name or "return")[:255]


def _stored_upload(*, user: User, filename: str, file: File, kind: str, checksum: str):
    filename = display_filename(filename)
    upload = ReturnUpload(
        kind=kind,
        original_name=filename,
        checksum=checksum,
        size=file.size,
        uploaded_by=user,
        uploaded_at=timezone.now(),
        stage="Waiting to be validated",
    )
    # Stored under a name of safe characters only; the name shown keeps the user's spelling.
    stored = get_valid_filename(filename[-80:]) or "return"
    upload.file.save(f"{checksum[:16]}-{stored}", file, save=False)
    upload.save()
    return upload


class _NothingKept(Exception):
    """Raised to roll a dry run back."""


def upload_dry_run(
    *, user: User, filename: str, content: bytes | IO[bytes], kind: str
) -> ReturnUpload:
    """Check a file exactly as an upload is checked (read, validate, stage, chunked when large)
    and keep nothing: the rows, the upload and its stored file are all discarded.

    Returns the upload as validation left it (state, counts and issues), no longer stored.
    """
    _require_uploader(user, kind)
    file = _sized_file(content)
    checked = None
    upload = None
    try:
        with transaction.atomic():
            # Not the file's checksum: an identical upload may be stored already.
            upload = _stored_upload(
                user=user, filename=filename, file=file, kind=kind, checksum=secrets.token_hex(32)
            )
            checked = upload_validate(upload_id=upload.pk)
            raise _NothingKept
    except _NothingKept:
        pass
    finally:
        if upload is not None:
            upload.file.delete(save=False)
    return checked


def upload_may_submit(*, user: User, upload: ReturnUpload) -> bool:
    """Whether the user may submit for every place the return holds (the state aside)."""
    return user_can_for_all(user, Action.SUBMIT_RETURN, upload.places.values_list("id", flat=True))


def upload_may_decide(*, user: User, upload: ReturnUpload) -> bool:
    """Whether the user may decide on the return (the state aside): the Strategy Implementation
    Group, four eyes: never someone who uploaded or submitted it."""
    return user_can(user, Action.DECIDE_RETURN) and user.pk not in (
        upload.uploaded_by_id,
        upload.submitted_by_id,
    )


def upload_may_withdraw(*, user: User, upload: ReturnUpload) -> bool:
    """Whether the user may withdraw the return (the state aside): its uploader, or whoever may
    withdraw anyone's."""
    return user.pk == upload.uploaded_by_id or user_can(user, Action.WITHDRAW_ANY_RETURN)


@transaction.atomic
def upload_submit(*, upload: ReturnUpload, user: User, confirm_warnings: bool) -> ReturnUpload:
    """The place lead confirms a validated return (and its warnings) for review."""
    upload = ReturnUpload.objects.select_for_update().get(pk=upload.pk)
    if not upload_may_submit(user=user, upload=upload):
        raise PermissionDenied("You may not submit for every place in this return.")
    if upload.state != State.VALIDATED:
        raise ValidationError(f"A {upload.get_state_display().lower()} return cannot be submitted.")
    if upload.warning_count and not confirm_warnings:
        raise ValidationError("Confirm the warnings before submitting.")
    upload.warnings_confirmed = bool(upload.warning_count)
    upload.state = State.SUBMITTED
    upload.submitted_by = user
    upload.submitted_at = timezone.now()
    upload.save(update_fields=["warnings_confirmed", "state", "submitted_by", "submitted_at"])
    audit(action=AuditEvent.Action.SUBMIT, actor=user, upload=upload)
    return upload


@transaction.atomic
def upload_decide(
    *, upload: ReturnUpload, user: User, approve: bool, reason: str = ""
) -> ReturnUpload:
    """Approve or send back a submitted return; nobody decides on a return they handled."""
    upload = ReturnUpload.objects.select_for_update().get(pk=upload.pk)
    if not user_can(user, Action.DECIDE_RETURN):
        raise PermissionDenied("Only the Strategy Implementation Group decides on returns.")
    if not upload_may_decide(user=user, upload=upload):
        raise PermissionDenied("Four eyes: you uploaded or submitted this return.")
    if upload.state != State.SUBMITTED:
        raise ValidationError(f"A {upload.get_state_display().lower()} return cannot be decided.")
    if not approve and not reason.strip():
        raise ValidationError("Say why the return is sent back.")
    # A large return's values are written by a worker, with progress, not in this request.
    in_background = approve and upload.row_count > settings.RETURN_APPROVE_IN_BACKGROUND_ROWS
    if in_background:
        upload.state = State.APPROVING
        upload.stage = f"Waiting to write its {upload.row_count:,} rows"
        upload.percent = 0
    else:
        upload.state = State.APPROVED if approve else State.SENT_BACK
    upload.decided_by = user
    upload.decided_at = timezone.now()
    upload.decision_reason = reason.strip()
    upload.save(
        update_fields=["state", "stage", "percent", "decided_by", "decided_at", "decision_reason"]
    )
    action = AuditEvent.Action.APPROVE if approve else AuditEvent.Action.SEND_BACK
    audit(action=action, actor=user, upload=upload, reason=upload.decision_reason)
    if in_background:
        upload_approve_enqueue(upload.pk)
    elif approve:
        upload.values_changed = upload_ingest(upload=upload, actor=user)
    return upload


def upload_approval_finish(*, upload_id: int) -> ReturnUpload | None:
    """Write the values of a return approved for writing in the background, once: ``None`` if
    it is not waiting for that (a second delivery of the task, say). All or nothing: a worker
    that dies part-way leaves it waiting, for the task's redelivery or the sweep."""
    waiting = ReturnUpload.objects.filter(pk=upload_id, state=State.APPROVING)
    if not waiting.update(stage="Writing the approved values", percent=10):
        return None
    with transaction.atomic():
        upload = ReturnUpload.objects.select_for_update().get(pk=upload_id)
        if upload.state != State.APPROVING:
            return None
        upload.values_changed = upload_ingest(upload=upload, actor=upload.decided_by)
        upload.state = State.APPROVED
        upload.stage = "Values written"
        upload.percent = 100
        upload.save(update_fields=["values_changed", "state", "stage", "percent"])
    return upload


@transaction.atomic
def upload_withdraw(*, upload: ReturnUpload, user: User, reason: str) -> ReturnUpload:
    """Withdraw a mistaken return before approval: recorded, never deleted."""
    upload = ReturnUpload.objects.select_for_update().get(pk=upload.pk)
    if not upload_may_withdraw(user=user, upload=upload):
        raise PermissionDenied("Only the uploader or an administrator withdraws a return.")
    if upload.state in (State.APPROVING, State.APPROVED, State.WITHDRAWN):
        raise ValidationError(
            "An approved return is corrected by a new return, not withdrawn."
            if upload.state in (State.APPROVING, State.APPROVED)
            else "The return is already withdrawn."
        )
    upload.state = State.WITHDRAWN
    upload.decision_reason = reason.strip()
    upload.save(update_fields=["state", "decision_reason"])
    # A return withdrawn while it is checked keeps nothing staged (its check stops at the end).
    ReturnRow.objects.filter(upload=upload).delete()
    audit(action=AuditEvent.Action.WITHDRAW, actor=user, upload=upload, reason=reason)
    return upload


def upload_ingest(*, upload: ReturnUpload, actor: User | None) -> int:
    """Write an approved return's changed values as new current versions; returns how many."""
    change_reason = f"Return {upload.pk}: {upload.original_name}"
    if fast_path():
        changed = staged_ingest(upload, change_reason=change_reason)
        progress_recompute_enqueue()
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
