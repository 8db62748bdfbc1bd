"""The database: one SQLAlchemy engine from DATABASE_URL (SQLite under instance/ by default), tables created at start-up."""

import os
import time

from flask import current_app
from sqlalchemy import MetaData, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError

# Every module that stores something defines its tables on this metadata (SQLAlchemy Core, no ORM).
metadata = MetaData()


def default_database_url(instance_path):
    return f"sqlite:///{os.path.join(instance_path, 'console.db')}"


def init_database(app, database_url):
    """Creates the engine and any missing tables, so a first start needs no manual step."""
    url = database_url or default_database_url(app.instance_path)
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])) or ".", exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def use_write_ahead_log(connection, _record):
            # Readers don't wait for the writer, which matters with threaded gunicorn workers.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=15000")
            # In WAL mode NORMAL never corrupts the file and loses at most the last commits on power loss, but it
            # skips an fsync on every commit, about 2 ms of every mint's activity record here.
            connection.execute("PRAGMA synchronous=NORMAL")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    create_tables(engine)
    app.extensions["database"] = engine
    return engine


def create_tables(engine, tables=None, attempts=4):
    """Creates the missing tables, and adds to an existing table the columns added since it was made."""
    # gunicorn's workers (and several instances) start at once: all see a table missing, one creates it and
    # the others fail with "already exists". Trying again finds it there. The same holds for a missing column.
    for attempt in range(attempts):
        try:
            metadata.create_all(engine, tables=tables)
            add_missing_columns(engine, tables)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def add_missing_columns(engine, tables=None):
    """ALTER TABLE ... ADD COLUMN for each nullable column a table's definition has and the database's table lacks:
    a column added to a table later (activity_tool_calls.role) reaches databases made before it. Only nullable
    columns without defaults may be added so; anything else needs a migration of its own."""
    inspector = inspect(engine)
    for table in tables or metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable or column.server_default is not None:
                raise RuntimeError(f"{table.name}.{column.name} is missing and cannot be added without a migration")
            quote, kind = engine.dialect.identifier_preparer.quote, column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"))


def database():
    """The app's engine; use `with database().begin() as connection:` for a transaction."""
    return current_app.extensions["database"]
