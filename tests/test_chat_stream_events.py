"""chat/stream_events.py: Responses stream events validated by their type give the openai SDK's own objects."""

import openai._models
import pytest
from openai._models import construct_type
from openai.types.responses import ResponseStreamEvent

from chat import stream_events

MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
PART = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
WHERE = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
RESPONSE = {"id": "resp_1", "object": "response", "created_at": 0, "status": "in_progress", "model": "gpt-5.6-luna",
            "output": [], "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
            "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": []}
EVENTS = [
    {"type": "response.created", "sequence_number": 0, "response": RESPONSE},
    {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": MESSAGE},
    {"type": "response.content_part.added", "sequence_number": 2, "part": PART, **WHERE},
    {"type": "response.output_text.delta", "sequence_number": 3, "delta": "Hello ", "logprobs": [], **WHERE},
    {"type": "response.output_text.done", "sequence_number": 4, "text": "Hello", "logprobs": [], **WHERE},
    {"type": "response.function_call_arguments.delta", "sequence_number": 5, "item_id": "fc_1", "output_index": 1,
     "delta": '{"since": '},
    {"type": "response.completed", "sequence_number": 6, "response": {**RESPONSE, "status": "completed"}},
    {"type": "response.some_future_event", "sequence_number": 7},  # not in this SDK: the SDK's own fallback
]


def sdk_alone(event, monkeypatch):
    monkeypatch.setattr(openai._models, "_validate_non_model_type", stream_events._sdk_validate)
    return construct_type(type_=ResponseStreamEvent, value=event)


@pytest.mark.parametrize("event", EVENTS, ids=[event["type"] for event in EVENTS])
def test_an_event_validated_by_its_type_is_the_object_the_sdk_builds(event, monkeypatch):
    expected = sdk_alone(event, monkeypatch)
    monkeypatch.undo()
    stream_events.install()
    actual = construct_type(type_=ResponseStreamEvent, value=event)
    assert type(actual) is type(expected)
    assert actual.model_dump() == expected.model_dump()
