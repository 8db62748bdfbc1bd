"""The conversation a call's server keeps: each item by id as the call's own events last showed it, which is what
`conversation.item.retrieve` answers with (OpenAI's Agents SDK for the browser sends one after every input
transcription, and the server's representation includes the transcript).

The record follows the server events the peer sends (`observe`), so it cannot drift from what the client saw.
Audio bytes are not kept: a retrieved audio item carries its transcript but no `audio`.
"""

import copy

from sandbox.session import request_violation


class ConversationRecord:
    def __init__(self):
        self._items = {}  # item id -> the item, as its latest event had it

    def observe(self, event):
        """Takes note of a server event about to be sent."""
        kind = event.get("type")
        if kind in ("conversation.item.added", "conversation.item.done"):
            item = event.get("item") or {}
            if item.get("id"):
                self._items[item["id"]] = copy.deepcopy(item)
        elif kind == "conversation.item.input_audio_transcription.completed":
            content = (self._items.get(event.get("item_id")) or {}).get("content") or []
            index = event.get("content_index", 0)
            if 0 <= index < len(content):
                content[index]["transcript"] = event["transcript"]

    def retrieved(self, event):
        """The server event that answers a client's conversation.item.retrieve: the item, or OpenAI's error."""
        violation = request_violation("RealtimeClientEventConversationItemRetrieve", event)
        if violation:
            code, param, message = violation
            return _error(code, message, param, event)
        item = self._items.get(event["item_id"])
        if item is None:
            # OpenAI's words and code for an id the conversation does not have (param null).
            return _error("item_retrieve_invalid_item_id",
                          f"Error retrieving item: the item with id '{event['item_id']}' does not exist.", None, event)
        return {"type": "conversation.item.retrieved", "item": copy.deepcopy(item)}


def _error(code, message, param, event):
    return {"type": "error", "error": {"type": "invalid_request_error", "code": code, "message": message,
                                       "param": param, "event_id": event.get("event_id")}}
