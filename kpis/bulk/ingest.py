"""Set-based ingestion of an approved return's staged rows as observation versions (PostgreSQL).

The same comparison and versioning as ``services.observations.observations_ingest``, in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from ..models import Observation, ReturnRow, ReturnUpload, Series


@dataclass(frozen=True)
class IngestResult:
    changed: int
    revised: int


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


def staged_ingest(upload: ReturnUpload, *, change_reason: str) -> IngestResult:
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
    return IngestResult(changed, revised)
