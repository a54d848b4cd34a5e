"""The whole dataset exported and restored into an empty database: every table's rows equal."""

import os
import sqlite3
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.kpis.release_helpers import two_releases_and_a_pending_one

pytestmark = [pytest.mark.slow]


def _dsn(name: str) -> str:
    db = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=name,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
    )


def table_digests(dsn: str) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows in a fixed order."""
    with psycopg.connect(dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: conn.execute(
                "SELECT count(*), "
                "md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), '')) "
                f'FROM "{table}" t'
            ).fetchone()
            for table in tables
        }


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "setset.settings.local",
        "DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def empty_database():
    name = f"setset_restore_{os.getpid()}"
    with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_postgresql_export_restored_into_an_empty_database_has_every_row(
    catalogue_data, sig, tmp_path, empty_database
):
    two_releases_and_a_pending_one(sig)
    dump = tmp_path / "dataset.dump"
    call_command("dataset_export", str(dump))
    db = connection.settings_dict
    target_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{empty_database}"
    )
    restored = manage("dataset_restore", str(dump), database_url=target_url)
    assert restored.returncode == 0, restored.stderr
    source, target = table_digests(_dsn(db["NAME"])), table_digests(_dsn(empty_database))
    assert target == source
    for table in ("kpis_observation", "kpis_assessment", "kpis_release", "kpis_auditevent"):
        assert source[table][0] > 0, table
    # A database with tables is never restored into.
    again = manage("dataset_restore", str(dump), database_url=target_url)
    assert again.returncode != 0
    assert "a restore goes only into an empty database" in again.stderr
    assert table_digests(_dsn(empty_database)) == source


def test_sqlite_export_restored_into_an_empty_file_has_every_row(tmp_path):
    source, target, dump = (tmp_path / name for name in ("a.sqlite3", "b.sqlite3", "dump"))
    assert manage("migrate", database_url=f"sqlite:///{source}").returncode == 0
    exported = manage("dataset_export", str(dump), database_url=f"sqlite:///{source}")
    assert exported.returncode == 0, exported.stderr
    restored = manage("dataset_restore", str(dump), database_url=f"sqlite:///{target}")
    assert restored.returncode == 0, restored.stderr

    def rows(path):
        with sqlite3.connect(path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {
                t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
            }

    assert rows(target) == rows(source)
    assert len(rows(source)["django_migrations"]) > 30
