"""The self-hosted chat store's tables (SQLAlchemy Core, on the project's metadata), importable without ChatKit."""

from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    update,
)

from core.database import metadata

threads_table = Table(
    "chatkit_threads",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),  # creation order, for stable paging
    Column("id", String(64), nullable=False, unique=True),
    Column("admin", String(128), nullable=False, index=True),  # the admin's id (core.admins.Admin), not the name
    Column("updated_at", Float, nullable=False),  # epoch seconds of the last change: the admin's current thread
    Column("body", Text, nullable=False),  # ThreadMetadata as ChatKit's JSON
)

items_table = Table(
    "chatkit_items",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),  # insertion order within a thread
    Column("id", String(64), nullable=False),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("admin", String(128), nullable=False),
    Column("body", Text, nullable=False),  # the ThreadItem as ChatKit's JSON
    UniqueConstraint("thread_id", "id", name="uq_chatkit_items_thread_item"),
)

# A confirm tool's call waiting for the admin's Approve / Deny in the chat widget (chat/server.py): the Agents SDK
# run's state as the SDK serializes it (RunState.to_string), kept on the server, never sent to the browser.
approvals_table = Table(
    "chatkit_approvals",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("thread_id", String(64), nullable=False),
    Column("call_id", String(128), nullable=False),
    Column("admin", String(128), nullable=False),
    Column("item_id", String(64), nullable=False),  # the widget item showing the buttons
    Column("tool", String(64), nullable=False),
    Column("arguments", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, approved, denied
    Column("state", Text, nullable=False),  # the interrupted run (RunState.to_string)
    Column("created_at", Float, nullable=False),
    UniqueConstraint("thread_id", "call_id", name="uq_chatkit_approvals_thread_call"),
)


def current_thread_id(engine, admin):
    """The admin's most recently changed thread, or None."""
    with engine.connect() as connection:
        return connection.execute(
            select(threads_table.c.id)
            .where(threads_table.c.admin == admin)
            .order_by(threads_table.c.updated_at.desc(), threads_table.c.position.desc())
            .limit(1)
        ).scalar()


def adopt_legacy_threads(engine, username, admin_id):
    """Moves threads stored under the bare username (before admins had ids) to the admin's id, at sign-in."""
    with engine.begin() as connection:
        for table in (threads_table, items_table):
            connection.execute(update(table).where(table.c.admin == username).values(admin=admin_id))
