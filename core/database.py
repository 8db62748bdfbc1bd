"""The database: one SQLAlchemy engine from DATABASE_URL (SQLite under instance/ by default), tables created at start-up."""

import os
import time

from flask import current_app
from sqlalchemy import MetaData, create_engine, event
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
    # gunicorn's workers (and several instances) start at once: all see a table missing, one creates it and
    # the others fail with "already exists". Trying again finds it there.
    for attempt in range(attempts):
        try:
            metadata.create_all(engine, tables=tables)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def database():
    """The app's engine; use `with database().begin() as connection:` for a transaction."""
    return current_app.extensions["database"]
