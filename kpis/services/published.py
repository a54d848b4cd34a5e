"""The published read model: each published assessment's figures as the public reads them.

When a release publishes, its assessments store their values with the source's disclosure
rule applied and their vintage (first published value and release, revised and by which
release), worked out by the same functions the pages use (``disclosed_figures``,
``vintages_of``). Exports then read them as stored, by PostgreSQL's COPY where it can.
"""

from __future__ import annotations

import pandas as pd
from django.db import connection, transaction

from ..bulk.copy import copy_into, fast_path
from ..models import Assessment, Release
from ..selectors.figures import (
    PUBLIC_FIGURE_COLUMNS,
    View,
    observation_public_figures,
    observation_source_rows,
)

#: Series stored at a time, so memory stays flat however large the release.
SERIES_PER_BATCH = 500


def published_figures_store(*, release: Release) -> int:
    """Store the public figures and vintages of every assessment the release published;
    returns the rows stored. A batch of series at a time, each in a few queries."""
    rows = Assessment.published.filter(release=release)
    series_ids = list(rows.order_by("series_id").values_list("series_id", flat=True).distinct())
    stored = 0
    for start in range(0, len(series_ids), SERIES_PER_BATCH):
        batch = rows.filter(series_id__in=series_ids[start : start + SERIES_PER_BATCH])
        shaped = observation_public_figures(
            observation_source_rows(batch, view=View.PUBLISHED), view=View.PUBLISHED, as_of=release
        )
        stored += _store(shaped)
    return stored


def published_figures_store_all() -> int:
    """Store every published release's figures, oldest first (after a change to how they are
    worked out, and once for releases published before they were stored)."""
    releases = Release.objects.filter(published_at__isnull=False).order_by("published_at", "pk")
    return sum(published_figures_store(release=release) for release in releases)


def _store(shaped: pd.DataFrame) -> int:
    if shaped.empty:
        return 0
    frame = shaped[["id", *PUBLIC_FIGURE_COLUMNS.values()]].rename(
        columns={shaped_name: stored for stored, shaped_name in PUBLIC_FIGURE_COLUMNS.items()}
    )
    frame["public_interval_method"] = frame["public_interval_method"].fillna("")
    with transaction.atomic():
        if fast_path():
            _store_by_copy(frame)
        else:
            _store_by_orm(frame)
    return len(frame)


def _store_by_copy(frame: pd.DataFrame) -> None:
    """One COPY into a temporary table and one UPDATE joined to it."""
    columns = list(PUBLIC_FIGURE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE published_figures_in ON COMMIT DROP AS "
            f"SELECT id, {', '.join(columns)} FROM kpis_assessment WITH NO DATA"
        )
        copy_into("published_figures_in", frame[["id", *columns]])
        cursor.execute(
            f"UPDATE kpis_assessment a SET {', '.join(f'{c} = i.{c}' for c in columns)} "
            "FROM published_figures_in i WHERE a.id = i.id"
        )
        cursor.execute("DROP TABLE published_figures_in")


def _store_by_orm(frame: pd.DataFrame) -> None:
    records = frame.astype(object).where(pd.notna(frame), None)
    Assessment.objects.bulk_update(
        [Assessment(**record) for record in records.to_dict("records")],
        fields=list(PUBLIC_FIGURE_COLUMNS),
        batch_size=1000,
    )
