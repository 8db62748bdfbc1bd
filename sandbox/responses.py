"""A minimal `POST /v1/responses` for the sandbox, so self-hosted chat (the Agents SDK) answers without an API key.

It streams the Responses API's SSE events in OpenAI's order (created, in_progress, output_item.added,
content_part.added, output_text.delta..., output_text.done, content_part.done, output_item.done, completed),
or answers the completed response as JSON when `stream` is false. The answer repeats the last user message, so a
developer can see the whole path work; files and reasoning are not simulated.

Function tools are, simply, so the chat agent's tools run offline: when the request carries `tools` and the newest
user message names one (its name, or its name with _ as spaces) or words of its description ("failed",
"pipelines"), the answer is a function_call of the best match (response.output_item.added,
response.function_call_arguments.delta/.done, output_item.done, completed), its required parameters filled from
the message (an ISO time for a "since"-like one). When the input ends with that call's function_call_output, the
answer quotes it: 'Here is what list_failed_pipelines returned: ...'.
"""

import asyncio
import json
import re
import time
from datetime import datetime, timedelta, timezone

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
        call = tool_call_for(body.get("input"), body.get("tools"))
        if call is not None:
            if body.get("stream"):
                return await stream_function_call(request, body, call)
            return web.json_response(completed_response(body, new_id("resp_"), None, None, call))
        text = tool_output_text(body.get("input")) or answer_text(body.get("input"))
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


# --- function tools ---------------------------------------------------------------------------------------

STOPWORDS = {"about", "after", "before", "their", "there", "these", "those", "which", "where", "whose", "given",
             "optionally", "only", "with", "from", "that", "this", "each", "every", "admin", "approves", "changes"}
OUTPUT_QUOTE_CHARS = 400


def _stem(word):
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def _words(text):
    return {_stem(word) for word in re.findall(r"[a-z0-9]+", text.lower())}


def _function_tools(tools):
    if not isinstance(tools, list):
        return []
    return [tool for tool in tools
            if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("name"), str)]


def _score(tool, message):
    """How well the message names the tool: its name beats any number of description words."""
    lowered = message.lower()
    name = tool["name"].lower()
    if name in lowered or name.replace("_", " ").replace("-", " ") in lowered:
        return 100
    said = _words(message)
    keywords = {word for word in _words(tool["name"].replace("_", " ")) if len(word) >= 4}
    keywords |= {word for word in _words(tool.get("description") or "") if len(word) >= 5}
    return len((keywords - STOPWORDS) & said)


def _newest_user_index(input_items):
    for index in range(len(input_items) - 1, -1, -1):
        item = input_items[index]
        if isinstance(item, dict) and item.get("role") == "user":
            return index
    return None


def tool_call_for(input_items, tools):
    """{name, call_id, arguments} when the newest user message asks for one of `tools` and was not answered by a
    function call yet; else None."""
    tools = _function_tools(tools)
    if not tools:
        return None
    if isinstance(input_items, str):
        input_items = [{"role": "user", "content": input_items}]
    if not isinstance(input_items, list):
        return None
    newest = _newest_user_index(input_items)
    if newest is None or any(isinstance(item, dict) and item.get("type") in ("function_call", "function_call_output")
                             for item in input_items[newest + 1:]):
        return None
    message = _text_of(input_items[newest].get("content"))
    scored = sorted(((_score(tool, message), index) for index, tool in enumerate(tools)), key=lambda pair: (-pair[0], pair[1]))
    if not scored or scored[0][0] == 0:
        return None
    tool = tools[scored[0][1]]
    return {"name": tool["name"], "call_id": new_id("call_"), "arguments": json.dumps(_arguments(tool, message))}


def _arguments(tool, message):
    """Values for the tool's required parameters that fit their types, taken from the message where it can."""
    parameters = tool.get("parameters") if isinstance(tool.get("parameters"), dict) else {}
    properties = parameters.get("properties") if isinstance(parameters.get("properties"), dict) else {}
    arguments = {}
    for name in parameters.get("required") or []:
        schema = properties.get(name) if isinstance(properties.get(name), dict) else {}
        arguments[name] = _value_for(name, schema, message)
    return arguments


def _value_for(name, schema, message):
    kind = schema.get("type", "string")
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if kind in ("integer", "number"):
        number = re.search(r"\b\d+\b", message)
        return int(number.group()) if number else 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    described = f"{name} {schema.get('description', '')} {schema.get('format', '')}".lower()
    if any(word in described for word in ("since", "time", "date", "iso 8601", "until")):
        return (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quoted = re.search(r"[\"'“‘]([^\"'”’]{1,100})[\"'”’]", message)
    if quoted:
        return quoted.group(1)
    identifier = re.findall(r"\b[A-Za-z]*[-_.][A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*\b|\b[A-Za-z0-9]+[-_][A-Za-z0-9_-]+\b", message)
    if identifier:
        return identifier[-1]
    words = re.findall(r"[A-Za-z0-9]+", message)
    return words[-1] if words else name


def tool_output_text(input_items):
    """'Here is what NAME returned: ...' when the input ends with a function_call_output; else None."""
    if not isinstance(input_items, list) or not input_items:
        return None
    last = input_items[-1]
    if not isinstance(last, dict) or last.get("type") != "function_call_output":
        return None
    name = next((item.get("name") for item in input_items if isinstance(item, dict)
                 and item.get("type") == "function_call" and item.get("call_id") == last.get("call_id")), "the tool")
    output = last.get("output")
    output = output if isinstance(output, str) else _text_of(output)
    output = " ".join(output.split())
    if len(output) > OUTPUT_QUOTE_CHARS:
        output = output[:OUTPUT_QUOTE_CHARS] + "…"
    return f"Here is what {name} returned: {output}"


def _function_call(item_id, call, status):
    return {"id": item_id, "type": "function_call", "status": status, "call_id": call["call_id"], "name": call["name"],
            "arguments": call["arguments"] if status == "completed" else ""}


async def _event_stream(request):
    """An SSE answer, prepared, and `send(type, **fields)` writing one numbered Responses event to it."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    sequence = iter(range(10_000))

    async def send(event_type, **fields):
        event = {"type": event_type, "sequence_number": next(sequence), **fields}
        await response.write(f"event: {event_type}\ndata: {json.dumps(event)}\n\n".encode())

    return response, send


async def stream_function_call(request, body, call):
    response, send = await _event_stream(request)
    response_id, item_id = new_id("resp_"), new_id("fc_")
    await send("response.created", response=_response(body, response_id, "in_progress", []))
    await send("response.in_progress", response=_response(body, response_id, "in_progress", []))
    await send("response.output_item.added", output_index=0, item=_function_call(item_id, call, "in_progress"))
    arguments = call["arguments"]
    for start in range(0, len(arguments), 16):
        await asyncio.sleep(DELTA_DELAY_SECONDS)
        await send("response.function_call_arguments.delta", item_id=item_id, output_index=0,
                   delta=arguments[start:start + 16])
    await send("response.function_call_arguments.done", item_id=item_id, output_index=0, arguments=arguments)
    await send("response.output_item.done", output_index=0, item=_function_call(item_id, call, "completed"))
    await send("response.completed", response=completed_response(body, response_id, None, None, call, item_id))
    await response.write_eof()
    return response


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
        "parallel_tool_calls": True, "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto",
        "tools": _function_tools(body.get("tools")),
        "previous_response_id": body.get("previous_response_id"), "usage": usage,
    }


def _message(message_id, text, status):
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    return {"id": message_id, "type": "message", "role": "assistant", "status": status, "content": content}


def completed_response(body, response_id, message_id, text, call=None, call_item_id=None):
    """The completed response: one assistant message with `text`, or one function call when `call` is given."""
    words = len(text.split()) if text else 5
    usage = {
        "input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": words, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 10 + words,
    }
    if call is not None:
        output = [_function_call(call_item_id or new_id("fc_"), call, "completed")]
    else:
        output = [_message(message_id, text, "completed")]
    return _response(body, response_id, "completed", output, usage)


async def stream_response(request, body, text):
    response, send = await _event_stream(request)
    response_id, message_id = new_id("resp_"), new_id("msg_")
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
