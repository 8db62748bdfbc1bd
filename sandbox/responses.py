"""A minimal `POST /v1/responses` for the sandbox, so self-hosted chat (the Agents SDK) answers without an API key.

It streams the Responses API's SSE events in OpenAI's order (created, in_progress, output_item.added,
content_part.added, output_text.delta..., output_text.done, content_part.done, output_item.done, completed),
or answers the completed response as JSON when `stream` is false. The answer repeats the last user message, so a
developer can see the whole path work; tools, files and reasoning are not simulated.
"""

import asyncio
import json
import time

from aiohttp import web

from sandbox.errors import OpenAIError, json_body
from sandbox.session import new_id

DELTA_DELAY_SECONDS = 0.02  # enough to watch the answer stream in, short enough for tests


def routes(sandbox):
    async def create_response(request):
        sandbox.require_api_key(request)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise OpenAIError(400, "Invalid type for 'body': expected an object.", "invalid_type")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise OpenAIError(400, "Missing required parameter: 'model'.", "missing_required_parameter", param="model")
        text = answer_text(body.get("input"))
        if body.get("stream"):
            return await stream_response(request, body, text)
        return web.json_response(completed_response(body, new_id("resp_"), new_id("msg_"), text))

    return [("POST", "/v1/responses", create_response)]


def answer_text(input_items):
    """'Sandbox answer: you said "..."', from the newest user message of the input."""
    said = ""
    if isinstance(input_items, str):
        said = input_items
    elif isinstance(input_items, list):
        for item in reversed(input_items):
            if isinstance(item, dict) and item.get("role") == "user":
                said = _text_of(item.get("content"))
                break
    said = " ".join(said.split())[:200]
    return f'Sandbox answer: you said "{said}". Set OPENAI_API_KEY for real answers.'


def _text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _response(body, response_id, status, output, usage=None):
    return {
        "id": response_id, "object": "response", "created_at": int(time.time()), "status": status,
        "model": body["model"], "output": output, "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "metadata": body.get("metadata") or {},
        "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": [],
        "previous_response_id": body.get("previous_response_id"), "usage": usage,
    }


def _message(message_id, text, status):
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    return {"id": message_id, "type": "message", "role": "assistant", "status": status, "content": content}


def completed_response(body, response_id, message_id, text):
    words = len(text.split())
    usage = {
        "input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": words, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 10 + words,
    }
    return _response(body, response_id, "completed", [_message(message_id, text, "completed")], usage)


async def stream_response(request, body, text):
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    response_id, message_id = new_id("resp_"), new_id("msg_")
    sequence = iter(range(10_000))

    async def send(event_type, **fields):
        event = {"type": event_type, "sequence_number": next(sequence), **fields}
        await response.write(f"event: {event_type}\ndata: {json.dumps(event)}\n\n".encode())

    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    where = {"item_id": message_id, "output_index": 0, "content_index": 0}
    await send("response.created", response=_response(body, response_id, "in_progress", []))
    await send("response.in_progress", response=_response(body, response_id, "in_progress", []))
    await send("response.output_item.added", output_index=0, item=_message(message_id, "", "in_progress"))
    await send("response.content_part.added", part=part, **where)
    for word in _chunks(text):
        await asyncio.sleep(DELTA_DELAY_SECONDS)
        await send("response.output_text.delta", delta=word, logprobs=[], **where)
    await send("response.output_text.done", text=text, logprobs=[], **where)
    await send("response.content_part.done", part={**part, "text": text}, **where)
    await send("response.output_item.done", output_index=0, item=_message(message_id, text, "completed"))
    await send("response.completed", response=completed_response(body, response_id, message_id, text))
    await response.write_eof()
    return response


def _chunks(text):
    words = text.split(" ")
    return [word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words)]
