"""The whole dataset to one file and back: every table of the database, schema and rows, by
the database's own tools (PostgreSQL's ``pg_dump`` and ``pg_restore``; SQLite's backup).

A restore goes only into an empty database, so it never mixes two datasets; on PostgreSQL it
runs in one transaction, so a failure leaves the database as empty as it was.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from django.db import connection

POSTGRESQL_DUMP = b"PGDMP"
SQLITE_FILE = b"SQLite format 3\x00"


class DatasetError(Exception):
    """The export or restore cannot be done; the message says why."""


def _postgresql_env() -> tuple[list[str], dict[str, str]]:
    settings = connection.settings_dict
    arguments = [f"--dbname={settings['NAME']}"]
    if settings.get("HOST"):
        arguments.append(f"--host={settings['HOST']}")
    if settings.get("PORT"):
        arguments.append(f"--port={settings['PORT']}")
    if settings.get("USER"):
        arguments.append(f"--username={settings['USER']}")
    env = {**os.environ}
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    return arguments, env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as missing:
        raise DatasetError(
            f"{command[0]} is not installed (PostgreSQL's client tools)."
        ) from missing
    if done.returncode != 0:
        raise DatasetError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def dataset_export(*, path: Path) -> None:
    """Write every table, schema and rows, to ``path``."""
    path = Path(path)
    if connection.vendor == "postgresql":
        arguments, env = _postgresql_env()
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"]
            + arguments,
            env,
        )
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
    else:
        raise DatasetError(f"Export is for PostgreSQL and SQLite, not {connection.vendor}.")


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def dataset_restore(*, path: Path) -> None:
    """Restore an export into this (empty) database."""
    path = Path(path)
    with path.open("rb") as file:
        head = file.read(16)
    if not _database_is_empty():
        raise DatasetError(
            "The database already has tables: a restore goes only into an empty database."
        )
    if connection.vendor == "postgresql":
        if not head.startswith(POSTGRESQL_DUMP):
            raise DatasetError(f"{path.name} is not a PostgreSQL export (pg_dump, custom format).")
        arguments, env = _postgresql_env()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                *arguments,
                str(path),
            ],
            env,
        )
    elif connection.vendor == "sqlite":
        if not head.startswith(SQLITE_FILE):
            raise DatasetError(f"{path.name} is not an SQLite export.")
        connection.ensure_connection()
        with sqlite3.connect(path) as source:
            source.backup(connection.connection)
    else:
        raise DatasetError(f"Restore is for PostgreSQL and SQLite, not {connection.vendor}.")
    connection.close()
