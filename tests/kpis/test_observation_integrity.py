"""Every observation's references hold in the database, checked a statement at a time."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, NotSupportedError, connection, transaction

from kpis import periods
from kpis.models import Observation, Period, Series
from kpis.services.observations import (
    ObservationValues,
    observation_record,
    period_get_or_create,
)
from tests.strategy.factories import UserFactory

pytestmark = pytest.mark.django_db

INSERT = """
INSERT INTO kpis_observation (
  series_id, period_id, version, is_current, numerator, denominator, value, suppressed, rounded,
  marker, note, ci_method, denominator_source, synthetic, recorded_at, change_reason, approved,
  recorded_by_id, source_upload_id)
VALUES (%s, %s, %s, true, NULL, NULL, 1, false, false, '', '', '', '', false, now(), '', false,
  %s, %s)
"""


# ``series`` and ``period`` (tests/kpis/conftest.py) are made by the factories.


def insert(series_id, period_id, *, version=1, user_id=None, upload_id=None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(INSERT, [series_id, period_id, version, user_id, upload_id])


def test_a_valid_observation_is_stored(series, period):
    insert(series.pk, period.pk)
    assert Observation.objects.get(series=series, period=period).value == Decimal("1.000000")


@pytest.mark.parametrize(
    ("column", "kwargs"),
    [
        ("series_id", {"series_id": -1}),
        ("period_id", {"period_id": -1}),
        ("recorded_by_id", {"user_id": -7}),
        ("source_upload_id", {"upload_id": -9}),
    ],
)
def test_an_observation_referring_to_a_missing_row_is_refused(series, period, column, kwargs):
    arguments = {"series_id": series.pk, "period_id": period.pk, **kwargs}
    series_id, period_id = arguments.pop("series_id"), arguments.pop("period_id")
    with pytest.raises(IntegrityError, match=rf"key \({column}\)=\(-\d\) is not present"):
        insert(series_id, period_id, **arguments)
    assert not Observation.objects.exists()


def test_a_bulk_insert_with_one_bad_reference_stores_nothing(series, period):
    other = period_get_or_create(periods.parse_period("2023-24"))
    with pytest.raises(IntegrityError, match=r"key \(period_id\)=\(-3\)"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO kpis_observation (series_id, period_id, version, is_current, "
                "suppressed, rounded, marker, note, ci_method, denominator_source, synthetic, "
                "recorded_at, change_reason, approved) "
                "SELECT %s, p, 1, true, false, false, '', '', '', '', false, now(), '', false "
                "FROM unnest(%s::bigint[]) p",
                [series.pk, [period.pk, other.pk, -3]],
            )
    assert not Observation.objects.exists()


def test_an_update_to_a_missing_reference_is_refused(series, period):
    insert(series.pk, period.pk)
    with pytest.raises(IntegrityError, match=r"key \(release_id\)=\(-5\)"):
        with transaction.atomic():
            Observation.objects.update(release_id=-5)
    assert Observation.objects.get().release_id is None


@pytest.mark.parametrize(
    ("table", "column"),
    [("kpis_series", "series_id"), ("kpis_period", "period_id"), ("strategy_user", "id")],
)
def test_deleting_a_referenced_row_is_refused(series, period, table, column):
    user = UserFactory()
    observation_record(
        series=series,
        period=period,
        values=ObservationValues(value=Decimal(2)),
        recorded_by=user,
    )
    target = {"kpis_series": series.pk, "kpis_period": period.pk, "strategy_user": user.pk}
    with pytest.raises(IntegrityError, match="is still referenced"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [target[table]])
    assert Observation.objects.filter(series=series, period=period).exists()


def test_renumbering_a_referenced_row_is_refused(series, period):
    insert(series.pk, period.pk)
    with pytest.raises(IntegrityError, match="is still referenced"):
        with transaction.atomic():
            Period.objects.filter(pk=period.pk).update(id=period.pk + 100_000)


def test_unreferenced_rows_delete_and_referenced_rows_update(series, period):
    spare = period_get_or_create(periods.parse_period("2019-20"))
    insert(series.pk, period.pk)
    Series.objects.filter(pk=series.pk).update(needs_recompute=True)
    Period.objects.filter(pk=spare.pk).delete()
    assert not Period.objects.filter(pk=spare.pk).exists()


def test_the_orm_cascade_from_a_series_still_deletes_its_observations(series, period):
    insert(series.pk, period.pk)
    series.delete()
    assert not Observation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_insert_racing_a_delete_of_its_series_cannot_both_succeed(series, period):
    """The insert locks its series FOR KEY SHARE; the delete waits, then finds the reference."""
    inserted = threading.Event()
    outcome = {}

    def delete_series():
        inserted.wait(timeout=10)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("DELETE FROM kpis_series WHERE id = %s", [series.pk])
            outcome["delete"] = "ok"
        except IntegrityError:
            outcome["delete"] = "refused"
        finally:
            connection.close()

    deleter = threading.Thread(target=delete_series)
    deleter.start()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(INSERT, [series.pk, period.pk, 1, None, None])
        inserted.set()
        # The delete is now waiting on the insert's lock on the series row.
        deleter.join(timeout=1)
        assert deleter.is_alive()
    deleter.join(timeout=10)
    assert outcome == {"delete": "refused"}
    assert Series.objects.filter(pk=series.pk).exists()
    assert Observation.objects.filter(series_id=series.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_update_that_changes_no_reference_locks_no_referenced_row(series, period):
    """Retiring a version (is_current only) share-locks none of the rows it refers to."""
    user = UserFactory()
    insert(series.pk, period.pk, user_id=user.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE kpis_observation SET is_current = false")
        cursor.execute(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND l.mode = 'RowShareLock'"
        )
        assert cursor.fetchall() == []
    with pytest.raises(IntegrityError, match=r"key \(recorded_by_id\)=\(-4\)"):
        with transaction.atomic():
            Observation.objects.update(recorded_by_id=-4)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_referenced_row_under_repeatable_read_is_refused(series, period):
    insert(series.pk, period.pk)
    spare = period_get_or_create(periods.parse_period("2018-19"))
    with pytest.raises(NotSupportedError, match="under READ COMMITTED only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("DELETE FROM kpis_period WHERE id = %s", [spare.pk])
    assert Period.objects.filter(pk=spare.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_update_check_is_planned_for_each_statement_not_kept_from_a_small_one(series, period):
    """A connection's first update touching no rows must not leave the check a plan that
    compares every row after a later, large update with every row before it."""
    import json

    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("auto_explain, which shows the trigger's plan, is loaded by a superuser")
        cursor.execute(
            "INSERT INTO kpis_observation (series_id, period_id, version, is_current, "
            "suppressed, rounded, marker, note, ci_method, denominator_source, synthetic, "
            "recorded_at, change_reason, approved) "
            "SELECT %s, %s, v, v = 1, false, false, '', '', '', '', false, now(), '', false "
            "FROM generate_series(1, 3000) v",
            [series.pk, period.pk],
        )
    plans: list[str] = []

    def keep(notice):
        plans.append(notice.message_primary or "")

    raw = connection.connection  # the psycopg connection: the plans arrive as notices
    raw.add_notice_handler(keep)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE kpis_observation SET note = 'none' WHERE false")
            cursor.execute("LOAD 'auto_explain'")
            for setting, value in [
                ("log_min_duration", "0"),
                ("log_nested_statements", "on"),
                ("log_level", "notice"),
                ("log_format", "json"),
            ]:
                cursor.execute(f"SET LOCAL auto_explain.{setting} = {value}")
            cursor.execute("UPDATE kpis_observation SET note = 'checked'")
    finally:
        raw.remove_notice_handler(keep)
    checks = [
        json.loads(plan[plan.index("{") :])
        for plan in plans
        if "LEFT JOIN previous o" in plan and "{" in plan
    ]
    assert len(checks) == 1
    # Planned knowing the 3,000 rows on each side: a merge or hash join, not a nested loop.
    nodes, joins = [checks[0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        if node["Node Type"] == "Named Tuplestore Scan":
            assert node["Plan Rows"] == 3000
        if node["Node Type"] in ("Nested Loop", "Merge Join", "Hash Join"):
            joins.append(node["Node Type"])
    assert joins and "Nested Loop" not in joins, joins
    assert Observation.objects.filter(note="checked").count() == 3000
