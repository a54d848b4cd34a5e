"""Staging a return's validated rows in ``kpis_returnrow``: series and period ids resolved once
per file (created where missing), rows copied in, and values repeated across chunks found.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from strategy.models import Place

from ..models import (
    Assessment,
    Breakdown,
    Kpi,
    Observation,
    Period,
    ReportingExpectation,
    ReturnRow,
    ReturnUpload,
    Series,
)
from ..numbers import decimal_6dp
from .copy import BackgroundCopy, copy_into, fast_path


class StagingIds:
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
        # Ids this file created, so a file that fails can take them away again.
        self.created_series: list[int] = []
        self.created_periods: list[int] = []
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
            self.periods.update(_periods_of(missing, self.created_periods))
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
            created=self.created_series,
        )


def _periods_of(firsts: pd.DataFrame, created: list[int]) -> dict[str, int]:
    """Period ids by canonical label, creating those missing (their ids added to ``created``)."""
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
        created=created,
    )


def _found_or_created(model, existing, wanted: int, missing, *, key_of, created: list) -> dict:
    """``existing()`` ids by key; when fewer than ``wanted``, the ``missing(found)`` objects
    are created and their ids added, by ``key_of`` each, and to ``created``. Should another
    upload have created one meanwhile, they are created again skipping those, and the ids read
    again (those created then are not known, and are not listed)."""
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
        created.extend(obj.pk for obj in objects)
    return found


def staged_discard(*, upload: ReturnUpload, ids: StagingIds) -> None:
    """Take away everything a file that failed left: its staged rows, and the series and
    periods it created that nothing else has come to use since."""
    ReturnRow.objects.filter(upload=upload).delete()
    referrers = [ReturnRow, Observation, Assessment]
    _delete_unused(Series, ids.created_series, "series_id", referrers)
    _delete_unused(Period, ids.created_periods, "period_id", [*referrers, ReportingExpectation])


def _delete_unused(model, ids: list[int], column: str, referrers: list) -> None:
    """Delete these rows of ``model`` that no row of any ``referrers`` refers to by ``column``."""
    if not ids:
        return
    unused = model.objects.filter(id__in=ids)
    for referrer in referrers:
        unused = unused.exclude(Exists(referrer.objects.filter(**{column: OuterRef("pk")})))
    unused.delete()


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


def staged_frame(upload: ReturnUpload, rows: pd.DataFrame, ids: StagingIds) -> pd.DataFrame:
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


def stage_rows(
    upload: ReturnUpload,
    rows: pd.DataFrame,
    *,
    set_places: bool = True,
    ids: StagingIds | None = None,
    writer: BackgroundCopy | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stage validated rows: PostgreSQL's COPY where available (on ``writer``'s connection when
    given), bulk inserts elsewhere. ``ids`` carries series and period ids from chunk to chunk.
    Returns the rows' series and period ids."""
    staged = staged_frame(upload, rows, ids or StagingIds())
    if writer is not None:
        writer.write(staged)
    elif fast_path():
        copy_into("kpis_returnrow", staged)
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


class StagedValues:
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
