"""Staging a return's validated rows: ids looked up once per file, and repeats found."""

import pytest

from kpis.bulk.staging import StagedValues, StagingIds
from kpis.models import ReturnRow
from strategy.access import Role
from tests.kpis.upload_helpers import csv, uploaded


def test_staged_rows_take_ids_only_from_their_identity_so_ids_stay_unique(make_user, open_period):
    from django.db import ProgrammingError, transaction

    lead = make_user("two-place-lead", Role.PLACE_LEAD, places=("southend", "thurrock"))
    two_rows = csv(
        "MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,",
        "MHST-PUPIL-COVERAGE,thurrock,2024-25,,10,40,25,,",
    )
    upload = uploaded(lead, two_rows)
    assert upload.state == "validated", upload.issues
    ids = list(ReturnRow.objects.filter(upload=upload).order_by("row").values_list("id", flat=True))
    assert len(set(ids)) == 2
    assert ReturnRow.objects.get(pk=ids[1]).row == 4  # found by id, as the admin finds it
    # With no B-tree behind the primary key (migration 0004), the identity refuses any id it
    # did not give, even one no row has: "cannot insert a non-DEFAULT value" (428C9).
    extra = ReturnRow.objects.get(pk=ids[0])
    extra.pk = max(ids) + 1000
    with pytest.raises(ProgrammingError) as refused, transaction.atomic():
        extra.save(force_insert=True)
    assert refused.value.__cause__.sqlstate == "428C9"
    assert not ReturnRow.objects.filter(pk=max(ids) + 1000).exists()


def _staging_rows(values):
    """Validated rows, as the validator hands them to staging: (place, period label) each."""
    import pandas as pd

    from kpis import periods

    specs = [periods.parse_period(label) for _, label in values]
    return pd.DataFrame(
        {
            "kpi_code": "MHST-PUPIL-COVERAGE",
            "place_code": [place for place, _ in values],
            "breakdown_dimension": "all",
            "breakdown_category": "all",
            "period_label": [spec.label for spec in specs],
            "period_type": [spec.type for spec in specs],
            "period_start": [spec.start for spec in specs],
            "period_end": [spec.end for spec in specs],
        }
    )


def test_staging_asks_the_database_about_each_series_and_period_once(catalogue_data):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kpis.models import Period, Series

    ids = StagingIds()
    first = _staging_rows(
        [("southend", "2019-20"), ("thurrock", "2019-20"), ("southend", "2020-21")]
    )
    series = ids.series_ids(first)
    periods = ids.period_ids(first)
    expected = {
        place: Series.objects.get(
            kpi__code="MHST-PUPIL-COVERAGE", place__code=place, breakdown__dimension="all"
        ).pk
        for place in ("southend", "thurrock")
    }
    assert series.tolist() == [expected["southend"], expected["thurrock"], expected["southend"]]
    year = dict(Period.objects.filter(label__in=["2019-20", "2020-21"]).values_list("label", "pk"))
    assert periods.tolist() == [year["2019-20"], year["2019-20"], year["2020-21"]]

    # A later chunk of the same series and periods is answered from memory.
    later = _staging_rows([("thurrock", "2020-21"), ("southend", "2019-20")])
    with CaptureQueriesContext(connection) as captured:
        assert ids.series_ids(later).tolist() == [expected["thurrock"], expected["southend"]]
        assert ids.period_ids(later).tolist() == [year["2020-21"], year["2019-20"]]
    assert captured.captured_queries == []

    # Only what is new is looked up (and created): here one period, no series.
    newer = _staging_rows([("thurrock", "2021-22"), ("southend", "2021-22")])
    with CaptureQueriesContext(connection) as captured:
        ids.series_ids(newer)
        made = ids.period_ids(newer)
    assert not any('"kpis_series"' in query["sql"] for query in captured.captured_queries)
    assert made.tolist() == [Period.objects.get(label="2021-22").pk] * 2


def test_a_period_another_upload_created_meanwhile_is_used_not_duplicated(db):
    from datetime import date
    from unittest.mock import patch

    from kpis.models import Period

    # Another upload creates 2031-32 after this one looked and found no such period.
    theirs = Period(
        label="2031-32", type="financial_year", start=date(2031, 4, 1), end=date(2032, 3, 31)
    )
    look = Period.objects.filter
    looks = []

    def racing_look(*args, **kwargs):
        looks.append(len(looks))
        if len(looks) == 1:
            theirs.save()  # just after this upload's look found nothing
            return look(pk__in=[])
        return look(*args, **kwargs)

    ids = StagingIds()
    with patch.object(Period.objects, "filter", side_effect=racing_look):
        found = ids.period_ids(_staging_rows([("southend", "2031-32"), ("thurrock", "2031-32")]))
    assert found.tolist() == [theirs.pk, theirs.pk]
    assert len(looks) == 2  # the insert clashed, so the ids were read again
    assert Period.objects.filter(label="2031-32").count() == 1
    # Without a clash the ids come back from the insert itself, with no second look.
    with patch.object(Period.objects, "filter", wraps=look) as looked:
        found = ids.period_ids(_staging_rows([("southend", "2032-33")]))
    assert found.tolist() == [Period.objects.get(label="2032-33").pk]
    assert looked.call_count == 1
    assert Period.objects.get(label="2032-33").start == date(2032, 4, 1)


def test_values_staged_in_earlier_chunks_are_told_apart_exactly_in_flat_memory():
    import numpy as np

    staged = StagedValues()
    staged.add(np.array([7, 7, 9]), np.array([10, 11, 10]))
    staged.add(np.array([12] * 9), np.arange(100, 109))  # more periods than a byte holds
    staged.add(np.array([9, 12, 7]), np.array([11, 10, 100]))  # new pairs of known ids
    assert not staged.repeated
    # A bit a pair of the 3 series and 13 periods seen, whatever the number of rows.
    assert staged.bits.shape == (3, 2)
    staged.add(np.array([40, 12]), np.array([10, 104]))  # 12 in 104 was staged before
    assert staged.repeated


def test_the_staged_values_grow_only_on_the_side_that_needs_it():
    import numpy as np

    staged = StagedValues()
    for chunk in range(40):  # one series, 100 new periods a chunk
        staged.add(np.full(100, 5), np.arange(chunk * 100, (chunk + 1) * 100))
    assert not staged.repeated
    assert staged.bits.shape[0] == 1 and staged.bits.shape[1] >= 4000 // 8
