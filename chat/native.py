"""The native chat view's reading side: an admin's threads and a thread's items, read through the ChatKit server
(the chat service's ChatKit requests, as the widget reads them) and turned into view models the templates show.

Every read goes through the same ChatKit requests the widget sends (threads.list, items.list), so both views show
the same threads and the same items, scoped to the admin by the store.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from chat.markdown import render_markdown
from chat.service import chat_service
from chat.transcripts import VOICE_MARK

THREADS_PER_PAGE = 20
ITEMS_PER_PAGE = 100
UNTITLED = "Untitled thread"
# Items the admin never sees: turn markers and what the model alone reads.
HIDDEN_ITEMS = frozenset({"end_of_turn", "hidden_context_item", "sdk_hidden_context"})
# agent/sdk_tools.py titles a failed call "NAME failed (code)" and keeps the error's words as its content.
_FAILED_TOOL = re.compile(r"^(?P<tool>\S+) failed \((?P<code>[^)]+)\)$")


@dataclass(frozen=True)
class ThreadSummary:
    id: str
    title: str
    created_at: datetime | None
    titled: bool = True  # False: the thread has no title of its own and shows UNTITLED


@dataclass(frozen=True)
class ThreadPage:
    threads: list
    after: str | None  # the cursor of the next page, or None on the last


@dataclass(frozen=True)
class Message:
    id: str
    role: str  # user or assistant
    text: str  # what was said, without the [voice] mark
    html: str | None = None  # the assistant's markdown as safe HTML
    voice: bool = False
    created_at: datetime | None = None
    kind: str = "message"


@dataclass(frozen=True)
class ToolTask:
    title: str  # e.g. "Ran list_failed_pipelines (12 ms)"
    detail: str  # the output, or the failure in words
    failed: bool = False
    finished: bool = True


@dataclass(frozen=True)
class ToolEntries:
    id: str
    tasks: list
    kind: str = "tools"


@dataclass(frozen=True)
class CardLine:
    text: str = ""
    html: str | None = None  # markdown, rendered and cleaned
    color: str | None = None  # success, danger, secondary...


@dataclass(frozen=True)
class CardButton:
    label: str
    action: str  # the widget action's type, e.g. tool.approve
    call_id: str
    color: str | None = None


@dataclass(frozen=True)
class Card:
    """A widget the server showed (an approval card): its lines, and the buttons whose actions may be sent back."""

    id: str
    lines: list
    buttons: list = field(default_factory=list)
    kind: str = "card"


@dataclass(frozen=True)
class Unshown:
    id: str
    what: str
    kind: str = "unshown"


@dataclass(frozen=True)
class ThreadView:
    id: str
    title: str
    items: list
    earlier: str | None  # the cursor of older items, or None when the first item is shown
    last_user_item: str | None  # the newest user message's id: what Retry answers again


def chatkit_json(admin, name, body):
    """The JSON answer of a non-streaming ChatKit request (ApiError for a missing thread or a bad request)."""
    answer = chat_service().answer(json.dumps(body).encode(), admin, name)
    if answer.json is None:
        answer.release()
        raise ValueError(f"{body['type']} streams; read it with chat.native_send")
    return json.loads(answer.json)


def list_threads(admin, name, after=None, limit=THREADS_PER_PAGE):
    """One page of the admin's threads, newest first (threads.list, as the widget's history shows them)."""
    params = {"limit": limit, "order": "desc", **({"after": after} if after else {})}
    page = chatkit_json(admin, name, {"type": "threads.list", "params": params})
    threads = [thread_summary(thread) for thread in page["data"]]
    return ThreadPage(threads, page.get("after") if page.get("has_more") else None)


def thread_summary(thread):
    title = (thread.get("title") or "").strip()
    return ThreadSummary(thread["id"], title or UNTITLED, _when(thread.get("created_at")), titled=bool(title))


def load_thread(admin, name, thread_id, earlier=None, limit=ITEMS_PER_PAGE):
    """The thread's newest `limit` items (or those before `earlier`), oldest first, as view models."""
    thread = chatkit_json(admin, name, {"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    params = {"thread_id": thread_id, "limit": limit, "order": "desc", **({"after": earlier} if earlier else {})}
    page = chatkit_json(admin, name, {"type": "items.list", "params": params})
    raw_items = list(reversed(page["data"]))
    last_user = next((item["id"] for item in reversed(raw_items) if item.get("type") == "user_message"), None)
    items = [view for view in (item_view(item) for item in raw_items) if view is not None]
    earlier_cursor = page.get("after") if page.get("has_more") else None
    return ThreadView(thread_id, thread_summary(thread).title, items, earlier_cursor, last_user)


def item_view(item):
    """The view model of one ChatKit thread item (as its JSON), or None for an item the admin never sees."""
    kind = item.get("type")
    if kind in HIDDEN_ITEMS:
        return None
    if kind in ("user_message", "assistant_message"):
        return message_view(item)
    if kind == "workflow":
        return ToolEntries(item["id"], [task_view(task) for task in item.get("workflow", {}).get("tasks", [])])
    if kind == "task":
        return ToolEntries(item["id"], [task_view(item.get("task", {}))])
    if kind == "widget":
        return card_view(item["id"], item.get("widget") or {})
    return Unshown(item.get("id", ""), (kind or "unknown").replace("_", " "))


def message_view(item):
    role = "user" if item["type"] == "user_message" else "assistant"
    text = "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))
    voice = text.startswith(VOICE_MARK) or item["id"].startswith("msg_voice_")
    text = text.removeprefix(VOICE_MARK)
    html = render_markdown(text) if role == "assistant" else None
    return Message(item["id"], role, text, html, voice, _when(item.get("created_at")))


def task_view(task):
    title = task.get("title") or "A step of the answer"
    detail = task.get("content") or ""
    failed = _FAILED_TOOL.match(title)
    if failed:
        words = detail or f"the call ended with {failed['code']}"
        return ToolTask(f"{failed['tool']} failed ({failed['code']})", words, failed=True)
    if task.get("status_indicator") == "loading":
        # A stored "Running…" task: the answer was stopped before the call finished.
        stopped = "It did not finish: the answer was stopped."
        return ToolTask(title.removesuffix("…"), detail or stopped, finished=False)
    return ToolTask(title, detail)


def card_view(item_id, widget):
    """The lines and buttons of a widget card (chat/approval_cards.py's approval card, refusal or decided form)."""
    lines, buttons = [], []

    def walk(component):
        if not isinstance(component, dict):
            return
        kind = component.get("type")
        if kind == "Text" and component.get("value"):
            lines.append(CardLine(text=str(component["value"]), color=component.get("color")))
        elif kind == "Markdown" and component.get("value"):
            lines.append(CardLine(html=render_markdown(str(component["value"]))))
        elif kind == "Button":
            action = component.get("onClickAction") or {}
            payload = action.get("payload") if isinstance(action.get("payload"), dict) else {}
            if isinstance(action.get("type"), str) and isinstance(payload.get("call_id"), str):
                buttons.append(CardButton(str(component.get("label") or action["type"]), action["type"],
                                          payload["call_id"], component.get("color")))
        for child in component.get("children") or []:
            walk(child)

    walk(widget)
    return Card(item_id, lines, buttons)


def _when(value):
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
