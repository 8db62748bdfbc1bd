"""The native chat view's writing side without JavaScript: a sent message, an approval, a retry, a rename or a delete
as the ChatKit request the widget would send, run to its end on the server before the page answers.

With JavaScript the page sends the same requests to POST /chatkit itself and reads the answer as it streams
(static/js/chat-native.js); these run the requests for a form post, holding a stream slot as /chatkit does.
"""

import json
from dataclasses import dataclass

from chat.approval_cards import APPROVE, DENY
from chat.service import chat_service

MAX_MESSAGE_CHARS = 20_000
MAX_TITLE_CHARS = 120
# The widget actions a card's form may send back: the approval card's.
CARD_ACTIONS = frozenset({APPROVE, DENY})


def user_input(text):
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def new_thread_request(text):
    return {"type": "threads.create", "params": {"input": user_input(text)}}


def message_request(thread_id, text):
    return {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input(text)}}


def action_request(thread_id, item_id, action, call_id):
    return {"type": "threads.custom_action", "params": {
        "thread_id": thread_id, "item_id": item_id, "action": {"type": action, "payload": {"call_id": call_id}}}}


def retry_request(thread_id, item_id):
    return {"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": item_id}}


def rename_request(thread_id, title):
    return {"type": "threads.update", "params": {"thread_id": thread_id, "title": title}}


def delete_request(thread_id):
    return {"type": "threads.delete", "params": {"thread_id": thread_id}}


@dataclass(frozen=True)
class Outcome:
    """What a finished answer's stream said: its thread, the admin's message, and an error in words if it failed."""

    thread_id: str | None
    user_item: str | None
    error: str | None = None
    can_retry: bool = False


def run_to_end(admin, name, body, roles=()):
    """Runs one ChatKit request for the admin (`roles`: which of the agent's tools its run gets) and reads its answer
    to the end. A request that streams holds one of the admin's stream slots while it runs (429 too_many_streams
    over CHAT_MAX_STREAMS_*, as on /chatkit). Returns an Outcome for a stream, or the JSON answer (parsed)
    otherwise; ApiError when it was refused."""
    answer = chat_service().answer(json.dumps(body).encode(), admin, name, roles)
    if answer.stream is None:
        return json.loads(answer.json)
    try:
        return read_outcome(answer.stream, body.get("params", {}).get("thread_id"))
    finally:
        answer.stream.close()  # gives the stream slot back, and cancels a run that is still going
        answer.release()


def read_outcome(chunks, thread_id=None):
    """Reads ChatKit's SSE chunks (b"data: {...}\\n\\n") to the end into an Outcome."""
    user_item, error, can_retry = None, None, False
    for event in sse_events(chunks):
        kind = event.get("type")
        if kind == "thread.created":
            thread_id = event["thread"]["id"]
        elif kind == "thread.item.done" and event.get("item", {}).get("type") == "user_message":
            user_item = event["item"]["id"]
        elif kind == "error":
            error = stream_error_words(event)
            can_retry = bool(event.get("allow_retry"))
    return Outcome(thread_id, user_item, error, can_retry)


def sse_events(chunks):
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n\n")
        for block in complete:
            for line in block.split(b"\n"):
                if line.startswith(b"data: "):
                    yield json.loads(line[len(b"data: "):])


def stream_error_words(event):
    """ChatKit's error event in the admin's words: the server's own message (the model refused, could not be
    reached...) or, for ChatKit's bare codes, what happened."""
    if event.get("message"):
        return event["message"]
    return (f"The chat agent failed while answering ({event.get('code') or 'stream.error'}); the details are in the "
            "server's log. Try again.")


def checked_message(text):
    """The message to send, or ValueError in words."""
    text = (text or "").strip()
    if not text:
        raise ValueError("Write a message first: it is empty.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValueError(f"The message is {len(text):,} characters long; at most {MAX_MESSAGE_CHARS:,} are sent.")
    return text


def checked_title(title):
    title = " ".join((title or "").split())
    if not title:
        raise ValueError("A thread's name cannot be empty.")
    if len(title) > MAX_TITLE_CHARS:
        raise ValueError(f"A thread's name has at most {MAX_TITLE_CHARS} characters; this one has {len(title)}.")
    return title
