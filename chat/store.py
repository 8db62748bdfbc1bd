"""The ChatKit store: threads and items in the project's database, scoped by admin, items kept as JSON blobs.

Items are stored as the JSON ChatKit itself produces (`model_dump_json`), so an upgrade of openai-chatkit that adds
fields needs no migration. Every query filters by the admin in the request context, so one admin can neither read
nor overwrite another's threads. SQLAlchemy calls block, so they run in worker threads (`asyncio.to_thread`),
never on the shared event loop.
"""

import asyncio
import time
from dataclasses import dataclass, field

from chatkit.store import NotFoundError, Store
from chatkit.types import Page, ThreadItem, ThreadMetadata
from pydantic import TypeAdapter
from sqlalchemy import delete, insert, select, update

from chat.tables import approvals_table, current_thread_id, items_table, threads_table

_thread_item = TypeAdapter(ThreadItem)


@dataclass(frozen=True)
class ChatContext:
    """What the store and the agent know about the request: whose threads these are (`admin`, the admin's id), the
    name the activity record shows for them and their roles (which of the agent's tools they get). `newest_items` is the request's memo of each thread's newest items
    (thread id -> (a counter moved by each of the request's writes to it, _Newest or None)), so one request does not
    read them twice."""

    admin: str
    name: str | None = None
    roles: tuple = ()
    newest_items: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def shown_name(self):
        return self.name or self.admin


def _thread_json(thread):
    # process() may hand us a full Thread (with items); only the metadata belongs in the threads table.
    return ThreadMetadata.model_validate(thread.model_dump(exclude={"items"})).model_dump_json()


class DatabaseStore(Store[ChatContext]):
    """chatkit.store.Store over SQLAlchemy Core; `engine` is the app's engine (database.database())."""

    def __init__(self, engine):
        self.engine = engine

    # --- synchronous core, run in threads -------------------------------------------------------------------

    def _thread_row(self, connection, thread_id, admin):
        row = connection.execute(
            select(threads_table.c.position, threads_table.c.body).where(
                threads_table.c.id == thread_id, threads_table.c.admin == admin
            )
        ).first()
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return row

    def load_thread_sync(self, thread_id, admin):
        with self.engine.connect() as connection:
            return ThreadMetadata.model_validate_json(self._thread_row(connection, thread_id, admin).body)

    def save_thread_sync(self, thread, admin):
        body = _thread_json(thread)
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(threads_table)
                .where(threads_table.c.id == thread.id, threads_table.c.admin == admin)
                .values(body=body, updated_at=time.time())
            ).rowcount
            if not changed:
                # An id owned by another admin fails the unique constraint instead of being taken over.
                connection.execute(
                    insert(threads_table).values(id=thread.id, admin=admin, body=body, updated_at=time.time())
                )
        return not changed  # a new thread

    def load_threads_sync(self, limit, after, order, admin):
        descending = order == "desc"
        query = select(threads_table.c.body, threads_table.c.id).where(threads_table.c.admin == admin)
        with self.engine.connect() as connection:
            if after:
                position = self._thread_row(connection, after, admin).position
                query = query.where(
                    threads_table.c.position < position if descending else threads_table.c.position > position
                )
            order_by = threads_table.c.position.desc() if descending else threads_table.c.position.asc()
            rows = connection.execute(query.order_by(order_by).limit(limit + 1)).all()
        return _page(rows, limit, ThreadMetadata.model_validate_json)

    def current_thread_id_sync(self, admin):
        """The admin's most recently changed thread, or None."""
        return current_thread_id(self.engine, admin)

    def delete_thread_sync(self, thread_id, admin):
        with self.engine.begin() as connection:
            self._thread_row(connection, thread_id, admin)
            connection.execute(
                delete(items_table).where(items_table.c.thread_id == thread_id, items_table.c.admin == admin)
            )
            connection.execute(
                delete(approvals_table).where(approvals_table.c.thread_id == thread_id, approvals_table.c.admin == admin)
            )
            connection.execute(
                delete(threads_table).where(threads_table.c.id == thread_id, threads_table.c.admin == admin)
            )

    def load_thread_items_sync(self, thread_id, after, limit, order, admin):
        return _page(self._item_rows_sync(thread_id, after, limit, order, admin), limit)

    def _item_rows_sync(self, thread_id, after, limit, order, admin):
        """Up to limit + 1 rows (id, body) of the thread's items in `order`, after the item `after`."""
        descending = order == "desc"
        with self.engine.connect() as connection:
            self._thread_row(connection, thread_id, admin)
            query = select(items_table.c.id, items_table.c.body).where(
                items_table.c.thread_id == thread_id, items_table.c.admin == admin
            )
            if after:
                position = connection.execute(
                    select(items_table.c.position).where(
                        items_table.c.thread_id == thread_id, items_table.c.id == after, items_table.c.admin == admin
                    )
                ).scalar()
                if position is None:
                    raise NotFoundError(f"Item {after} not found in thread {thread_id}")
                query = query.where(items_table.c.position < position if descending else items_table.c.position > position)
            order_by = items_table.c.position.desc() if descending else items_table.c.position.asc()
            return connection.execute(query.order_by(order_by).limit(limit + 1)).all()

    def add_thread_item_sync(self, thread_id, item, admin):
        with self.engine.begin() as connection:
            self._thread_row(connection, thread_id, admin)
            connection.execute(
                insert(items_table).values(
                    id=item.id, thread_id=thread_id, admin=admin, body=_thread_item.dump_json(item).decode()
                )
            )
            connection.execute(
                update(threads_table).where(threads_table.c.id == thread_id).values(updated_at=time.time())
            )

    def save_item_sync(self, thread_id, item, admin):
        body = _thread_item.dump_json(item).decode()
        with self.engine.begin() as connection:
            self._thread_row(connection, thread_id, admin)
            changed = connection.execute(
                update(items_table)
                .where(items_table.c.thread_id == thread_id, items_table.c.id == item.id, items_table.c.admin == admin)
                .values(body=body)
            ).rowcount
            if not changed:
                connection.execute(insert(items_table).values(id=item.id, thread_id=thread_id, admin=admin, body=body))

    def load_item_sync(self, thread_id, item_id, admin):
        with self.engine.connect() as connection:
            body = connection.execute(
                select(items_table.c.body).where(
                    items_table.c.thread_id == thread_id, items_table.c.id == item_id, items_table.c.admin == admin
                )
            ).scalar()
        if body is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return _thread_item.validate_json(body)

    def delete_thread_item_sync(self, thread_id, item_id, admin):
        with self.engine.begin() as connection:
            connection.execute(
                delete(items_table).where(
                    items_table.c.thread_id == thread_id, items_table.c.id == item_id, items_table.c.admin == admin
                )
            )

    # --- approvals of confirm tools (chat/server.py), scoped by admin like everything else ---------------------

    def save_pending_approval_sync(self, admin, thread_id, call_id, item_id, tool, arguments, state):
        """Keeps the interrupted run `state` for call `call_id`; returns True when the call is new (show its card),
        False when it was already waiting (its state is brought up to date) or already decided (left alone)."""
        with self.engine.begin() as connection:
            self._thread_row(connection, thread_id, admin)
            status = connection.execute(
                select(approvals_table.c.status).where(approvals_table.c.thread_id == thread_id,
                                                       approvals_table.c.call_id == call_id,
                                                       approvals_table.c.admin == admin)
            ).scalar()
            if status == "pending":
                connection.execute(
                    update(approvals_table)
                    .where(approvals_table.c.thread_id == thread_id, approvals_table.c.call_id == call_id,
                           approvals_table.c.admin == admin)
                    .values(state=state)
                )
            if status is not None:
                return False
            connection.execute(insert(approvals_table).values(
                thread_id=thread_id, call_id=call_id, admin=admin, item_id=item_id, tool=tool, arguments=arguments,
                status="pending", state=state, created_at=time.time(),
            ))
            return True

    def decide_approval_sync(self, admin, thread_id, call_id, status):
        """Marks a waiting call `status` (approved or denied) and returns its row; None when there is no such call
        of this admin's or it was decided already (a second click, another tab): exactly one decision wins."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(approvals_table)
                .where(approvals_table.c.thread_id == thread_id, approvals_table.c.call_id == call_id,
                       approvals_table.c.admin == admin, approvals_table.c.status == "pending")
                .values(status=status)
            ).rowcount
            if changed != 1:
                return None
            return connection.execute(
                select(approvals_table).where(approvals_table.c.thread_id == thread_id,
                                              approvals_table.c.call_id == call_id, approvals_table.c.admin == admin)
            ).first()

    # --- chatkit.store.Store, off the loop ------------------------------------------------------------------

    async def load_thread(self, thread_id, context):
        return await asyncio.to_thread(self.load_thread_sync, thread_id, context.admin)

    async def save_thread(self, thread, context):
        created = await asyncio.to_thread(self.save_thread_sync, thread, context.admin)
        if created and thread.id not in context.newest_items:  # a thread this request just made has no items
            context.newest_items[thread.id] = (0, _Newest(rows=(), has_more=False))

    async def load_thread_items(self, thread_id, after, limit, order, context):
        # A turn reads the newest items twice before the model is asked: the history for the model, then ChatKit's
        # stream_agent_response (the newest two, for a workflow to continue) beside the model call. Within one
        # request the later read is served from the first, kept up to date by the request's own add_thread_item
        # (and known empty for a thread it created); any other write drops the memo. The memo keeps the stored
        # JSON, so every read gets items of its own to change.
        newest = after is None and order == "desc"
        counter, known = context.newest_items.get(thread_id, (0, None))
        if newest and known is not None and (limit <= len(known.rows) or not known.has_more):
            return _page(known.rows[:limit], limit, has_more=len(known.rows) > limit or known.has_more)
        rows = await asyncio.to_thread(self._item_rows_sync, thread_id, after, limit, order, context.admin)
        if newest and context.newest_items.get(thread_id, (0, None))[0] == counter:  # no write ran meanwhile
            context.newest_items[thread_id] = (counter, _Newest(rows=tuple(rows[:limit]), has_more=len(rows) > limit))
        return _page(rows, limit)

    async def load_threads(self, limit, after, order, context):
        return await asyncio.to_thread(self.load_threads_sync, limit, after, order, context.admin)

    async def add_thread_item(self, thread_id, item, context):
        counter, known = context.newest_items.get(thread_id, (0, None))
        counter_after = await self._change(context, thread_id, self.add_thread_item_sync, thread_id, item, context.admin)
        # The item is now the newest: a memo no other write touched meanwhile (the counter moved only for this one)
        # stays right with the item in front.
        if known is not None and counter_after == counter + 2:
            row = _Row(item.id, _thread_item.dump_json(item).decode())
            context.newest_items[thread_id] = (counter_after, _Newest(rows=(row, *known.rows), has_more=known.has_more))

    async def save_item(self, thread_id, item, context):
        await self._change(context, thread_id, self.save_item_sync, thread_id, item, context.admin)

    async def load_item(self, thread_id, item_id, context):
        return await asyncio.to_thread(self.load_item_sync, thread_id, item_id, context.admin)

    async def delete_thread(self, thread_id, context):
        await self._change(context, thread_id, self.delete_thread_sync, thread_id, context.admin)

    async def delete_thread_item(self, thread_id, item_id, context):
        await self._change(context, thread_id, self.delete_thread_item_sync, thread_id, item_id, context.admin)

    @staticmethod
    async def _change(context, thread_id, write, *arguments):
        """Runs a write of the thread in a worker thread with the request's memo of its newest items dropped. The
        request's counter for the thread moves when the write starts and again when it ends, so a read that overlapped
        any part of it finds the counter moved and is not kept. Returns the counter after the write."""

        def move_counter():
            counter = context.newest_items.get(thread_id, (0, None))[0] + 1
            context.newest_items[thread_id] = (counter, None)
            return counter

        move_counter()
        try:
            await asyncio.to_thread(write, *arguments)
        finally:
            counter = move_counter()
        return counter

    # Attachments are turned off in the widget (composer.attachments disabled), so nothing is ever stored.
    async def save_attachment(self, attachment, context):
        raise NotImplementedError("attachments are not supported")

    async def load_attachment(self, attachment_id, context):
        raise NotFoundError(f"Attachment {attachment_id} not found: attachments are not supported")

    async def delete_attachment(self, attachment_id, context):
        raise NotFoundError(f"Attachment {attachment_id} not found: attachments are not supported")


@dataclass(frozen=True)
class _Newest:
    """A thread's newest item rows, newest first, as one request last read or wrote them."""

    rows: tuple
    has_more: bool


@dataclass(frozen=True)
class _Row:
    id: str
    body: str


def _page(rows, limit, parse=_thread_item.validate_json, has_more=None):
    """ChatKit's Page from up to limit + 1 rows (the extra one only says whether there are more, unless `has_more`
    says it)."""
    if has_more is None:
        has_more = len(rows) > limit
    rows = rows[:limit]
    after = rows[-1].id if has_more and rows else None
    return Page(data=[parse(row.body) for row in rows], has_more=has_more, after=after)
