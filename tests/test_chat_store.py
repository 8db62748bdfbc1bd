"""The chat store's memo of a thread's newest items within one request: later reads of the same request are served
from it, and they always say what the database would."""

import asyncio
import time
from datetime import datetime

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)
from sqlalchemy import create_engine

from chat.store import ChatContext, DatabaseStore
from core.database import create_tables

ADMIN = "admin_one"


@pytest.fixture
def store(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'chat.db'}", connect_args={"check_same_thread": False})
    create_tables(engine)
    return DatabaseStore(engine)


def user_message(thread_id, item_id, text):
    return UserMessageItem(id=item_id, thread_id=thread_id, created_at=datetime.now(), attachments=[],
                           content=[UserMessageTextContent(text=text)], inference_options=InferenceOptions())


def assistant(thread_id, item_id, text):
    return AssistantMessageItem(id=item_id, thread_id=thread_id, created_at=datetime.now(),
                                content=[AssistantMessageContent(text=text)])


def newest_ids(page):
    return [item.id for item in page.data]


def test_reads_within_a_request_say_what_the_database_says(store):
    async def scenario():
        request = ChatContext(ADMIN)
        await store.save_thread(ThreadMetadata(id="thr_1", created_at=datetime.now()), request)
        await store.add_thread_item("thr_1", user_message("thr_1", "msg_1", "first"), request)
        await store.add_thread_item("thr_1", assistant("thr_1", "msg_2", "answer"), request)
        await store.add_thread_item("thr_1", user_message("thr_1", "msg_3", "second"), request)
        in_request = [await store.load_thread_items("thr_1", None, limit, "desc", request) for limit in (40, 2, 1)]
        from_database = [await store.load_thread_items("thr_1", None, limit, "desc", ChatContext(ADMIN))
                         for limit in (40, 2, 1)]
        return in_request, from_database

    in_request, from_database = asyncio.run(scenario())
    assert newest_ids(in_request[0]) == ["msg_3", "msg_2", "msg_1"]
    for memo, database in zip(in_request, from_database):
        assert memo.model_dump() == database.model_dump()


def test_a_change_the_memo_cannot_follow_is_read_from_the_database(store):
    async def scenario():
        request = ChatContext(ADMIN)
        await store.save_thread(ThreadMetadata(id="thr_1", created_at=datetime.now()), request)
        await store.add_thread_item("thr_1", assistant("thr_1", "msg_1", "draft"), request)
        await store.load_thread_items("thr_1", None, 40, "desc", request)
        await store.save_item("thr_1", assistant("thr_1", "msg_1", "final"), request)
        after_save = await store.load_thread_items("thr_1", None, 40, "desc", request)
        await store.delete_thread_item("thr_1", "msg_1", request)
        after_delete = await store.load_thread_items("thr_1", None, 40, "desc", request)
        return after_save, after_delete

    after_save, after_delete = asyncio.run(scenario())
    assert after_save.data[0].content[0].text == "final"
    assert after_delete.data == []


def test_a_read_that_overlaps_a_write_is_not_kept(store, monkeypatch):
    # The read's SELECT runs before the insert commits and it returns after: what it saw must not be served later.
    original = DatabaseStore._item_rows_sync

    def slow_after_reading(self, *arguments):
        rows = original(self, *arguments)
        time.sleep(0.2)
        return rows

    async def scenario():
        request = ChatContext(ADMIN)
        await store.save_thread(ThreadMetadata(id="thr_1", created_at=datetime.now()), ChatContext(ADMIN))
        await store.add_thread_item("thr_1", user_message("thr_1", "msg_1", "first"), ChatContext(ADMIN))
        monkeypatch.setattr(DatabaseStore, "_item_rows_sync", slow_after_reading)
        reading = asyncio.create_task(store.load_thread_items("thr_1", None, 40, "desc", request))
        await asyncio.sleep(0.05)
        await store.add_thread_item("thr_1", user_message("thr_1", "msg_2", "second"), request)
        await reading
        monkeypatch.setattr(DatabaseStore, "_item_rows_sync", original)
        return await store.load_thread_items("thr_1", None, 40, "desc", request)

    assert newest_ids(asyncio.run(scenario())) == ["msg_2", "msg_1"]


def test_each_read_gets_items_of_its_own(store):
    # ChatKit changes items it is given (a workflow's tasks, a tool call's status): that must not change later reads.
    async def scenario():
        request = ChatContext(ADMIN)
        await store.save_thread(ThreadMetadata(id="thr_1", created_at=datetime.now()), request)
        await store.add_thread_item("thr_1", user_message("thr_1", "msg_1", "as stored"), request)
        first = await store.load_thread_items("thr_1", None, 40, "desc", request)
        first.data[0].content[0].text = "changed by a caller"
        return await store.load_thread_items("thr_1", None, 2, "desc", request)

    assert asyncio.run(scenario()).data[0].content[0].text == "as stored"
