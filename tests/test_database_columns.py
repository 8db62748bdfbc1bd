"""A column added to a table after databases were made (activity_tool_calls.role) reaches them at start-up, in
SQLite and in PostgreSQL, and several workers starting at once all find it."""

import sqlite3
import threading

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from core.database import init_database
from harness.real_servers import Postgres

OLD_TOOL_CALLS = ("CREATE TABLE activity_tool_calls (id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, "
                  "admin VARCHAR(100) NOT NULL, channel VARCHAR(10) NOT NULL, tool VARCHAR(64) NOT NULL, "
                  "outcome VARCHAR(10) NOT NULL, error_code VARCHAR(60), ms FLOAT, call_id VARCHAR(200))")


def columns(engine):
    return {column["name"] for column in inspect(engine).get_columns("activity_tool_calls")}


def test_an_old_sqlite_table_gets_the_new_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute(OLD_TOOL_CALLS)
        connection.execute("INSERT INTO activity_tool_calls (created_at, admin, channel, tool, outcome) "
                           "VALUES ('2026-12-01 10:00:00', 'alice', 'voice', 'get_run', 'ok')")
    engine = init_database(Flask("old-sqlite"), f"sqlite:///{path}")
    assert "role" in columns(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT admin, role FROM activity_tool_calls")).all() == [("alice", None)]
    engine.dispose()


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    try:
        yield server
    finally:
        server.close()


def test_an_old_postgresql_table_gets_the_new_column_with_workers_starting_at_once(postgres):
    setup = init_database(Flask("pg-setup"), postgres.url)
    with setup.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS activity_tool_calls"))
        connection.execute(text(OLD_TOOL_CALLS.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")))
    setup.dispose()
    engines, errors = [], []

    def start_worker(number):
        try:
            engines.append(init_database(Flask(f"pg-worker-{number}"), postgres.url))
        except Exception as error:  # noqa: BLE001 - the assertion below shows it
            errors.append(error)

    workers = [threading.Thread(target=start_worker, args=(n,)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == [] and len(engines) == 3
    assert "role" in columns(engines[0])
    for engine in engines:
        engine.dispose()
