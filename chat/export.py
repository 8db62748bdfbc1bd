"""`flask chatkit export-hosted ADMIN`: copies an admin's hosted ChatKit threads (Agent Builder workflows) into the
self-hosted store while OpenAI's hosted API still answers, so no conversation is lost when Agent Builder retires."""

from dataclasses import dataclass
from datetime import datetime

from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

PAGE_SIZE = 100


@dataclass
class ExportResult:
    threads: int = 0
    messages: int = 0
    already_here: int = 0  # threads exported by an earlier run, left as they are
    left_out: int = 0  # hosted items other than messages (widgets, tasks, tool calls)


def _pages(client, path, params):
    after = None
    while True:
        page = client.list_chatkit_page(path, {**params, "limit": PAGE_SIZE, "order": "asc", **({"after": after} if after else {})})
        data = page.get("data") or []
        yield from data
        if not page.get("has_more") or not data:
            return
        after = page.get("last_id") or data[-1].get("id")


def _timestamp(value):
    return datetime.fromtimestamp(value) if isinstance(value, (int, float)) else datetime.now()


def _texts(content, kind):
    return [part.get("text", "") for part in content or [] if isinstance(part, dict) and part.get("type") == kind]


def local_item(hosted, thread_id):
    """The self-hosted thread item for a hosted one, or None for kinds we do not carry over."""
    created_at = _timestamp(hosted.get("created_at"))
    if hosted.get("type") == "chatkit.user_message":
        text = "".join(_texts(hosted.get("content"), "input_text"))
        return UserMessageItem(
            id=hosted["id"], thread_id=thread_id, created_at=created_at,
            content=[UserMessageTextContent(text=text)], inference_options=InferenceOptions(),
        )
    if hosted.get("type") == "chatkit.assistant_message":
        return AssistantMessageItem(
            id=hosted["id"], thread_id=thread_id, created_at=created_at,
            content=[AssistantMessageContent(text=text) for text in _texts(hosted.get("content"), "output_text")],
        )
    return None


def export_hosted_threads(client, store, admin, user):
    """Copies every hosted thread of ChatKit `user` (the id our sessions used for `admin`) into `admin`'s store."""
    result = ExportResult()
    for hosted in _pages(client, "/chatkit/threads", {"user": user}):
        thread_id = hosted["id"]
        try:
            store.load_thread_sync(thread_id, admin)
            result.already_here += 1
            continue
        except NotFoundError:
            pass
        thread = ThreadMetadata(
            id=thread_id, title=hosted.get("title"), created_at=_timestamp(hosted.get("created_at")),
            metadata={"exported_from": "hosted ChatKit"},
        )
        store.save_thread_sync(thread, admin)
        for hosted_item in _pages(client, f"/chatkit/threads/{thread_id}/items", {}):
            item = local_item(hosted_item, thread_id)
            if item is None:
                result.left_out += 1
                continue
            store.save_item_sync(thread_id, item, admin)
            result.messages += 1
        result.threads += 1
    return result
