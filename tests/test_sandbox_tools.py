"""The sandbox's /v1/responses answers with function calls, so the chat agent's tools run offline: the official
OpenAI SDK reads its events, and the real Agents SDK behind our chat server runs a tool against the example platform
and answers with what it returned."""

import contextlib
import json

import pytest
from aiohttp import web
from openai import OpenAI

from app import create_app
from core.background_loop import BackgroundLoop
from core.clock import FixedClock
from examples import platform_api
from sandbox.server import API_KEY as SANDBOX_KEY
from sandbox.server import create_sandbox_app
from tests.support import PASSWORD, TODAY, SignedInAdmin
from tests.test_chatkit_selfhosted import chatkit, create_thread, sse_events

TOOLS = [
    {"type": "function", "name": "list_failed_pipelines",
     "description": "Pipelines whose last run failed, optionally only those that finished since a given time.",
     "parameters": {"type": "object", "properties": {"since": {"type": "string", "description": "ISO 8601 time"}},
                    "required": ["since"]}},
    {"type": "function", "name": "get_run", "description": "One pipeline run by id (e.g. r-1001), with its error.",
     "parameters": {"type": "object", "properties": {"run_id": {"type": "string"}}, "required": ["run_id"]}},
]


@contextlib.contextmanager
def sandbox_url():
    """The sandbox served from a thread on a free loopback port; yields its /v1 base URL."""
    async def start():
        runner = web.AppRunner(create_sandbox_app(answer_audio="tone"), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return runner, f"http://{host}:{port}/v1"

    with BackgroundLoop(name="sandbox") as loop:
        runner, url = loop.run(start(), timeout=10)
        try:
            yield url
        finally:
            loop.run(runner.cleanup(), timeout=10)


@pytest.fixture(scope="module")
def sandbox():
    with sandbox_url() as url:
        yield url


@pytest.fixture
def client(sandbox):
    return OpenAI(base_url=sandbox, api_key=SANDBOX_KEY, max_retries=0)


def user(text):
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def test_a_message_naming_a_tool_streams_a_function_call_the_sdk_reads(client):
    stream = client.responses.create(model="gpt-5-mini", input=[user("Which pipelines failed overnight?")],
                                     tools=TOOLS, stream=True)
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[-3:] == ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    added = events[2].item
    assert added.type == "function_call" and added.name == "list_failed_pipelines" and added.status == "in_progress"
    deltas = "".join(event.delta for event in events if event.type == "response.function_call_arguments.delta")
    done = events[-2].item
    assert done.arguments == deltas == events[-3].arguments
    assert done.id == added.id == events[-3].item_id and done.call_id.startswith("call_")
    since = json.loads(done.arguments)["since"]
    assert since.endswith("Z") and since[4] == "-" and "T" in since
    final = events[-1].response
    assert final.status == "completed" and final.output[0].type == "function_call"
    assert final.output[0].call_id == done.call_id


def test_required_string_parameters_are_filled_from_the_message(client):
    response = client.responses.create(model="gpt-5-mini", input=[user("Why did run r-1003 fail? Use get run.")],
                                       tools=TOOLS)
    call = response.output[0]
    assert call.type == "function_call" and call.name == "get_run"
    assert json.loads(call.arguments) == {"run_id": "r-1003"}


def test_the_function_call_output_is_quoted_in_the_answer(client):
    first = client.responses.create(model="gpt-5-mini", input=[user("list failed pipelines")], tools=TOOLS)
    call = first.output[0]
    follow_up = [user("list failed pipelines"),
                 {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
                 {"type": "function_call_output", "call_id": call.call_id, "output": '[{"name": "orders_daily"}]'}]
    events = list(client.responses.create(model="gpt-5-mini", input=follow_up, tools=TOOLS, stream=True))
    text = next(event.text for event in events if event.type == "response.output_text.done")
    assert text == 'Here is what list_failed_pipelines returned: [{"name": "orders_daily"}]'


def test_without_tools_or_a_matching_message_the_answer_echoes(client):
    plain = client.responses.create(model="gpt-5-mini", input=[user("which pipelines failed?")])
    assert plain.output_text.startswith("Sandbox answer: you said")
    unrelated = client.responses.create(model="gpt-5-mini", input=[user("hello there")], tools=TOOLS)
    assert unrelated.output[0].type == "message" and "hello there" in unrelated.output_text


AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed, optionally only those that finished since a given time."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string", description = "ISO 8601 time" } }, required = [] }
'''


def test_the_chat_agent_runs_a_tool_against_the_platform_through_the_sandbox(sandbox, base_env, tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    with platform_api.running("platform-token-1") as platform:
        env = {**base_env, "OPENAI_BASE_URL": sandbox, "OPENAI_API_KEY": SANDBOX_KEY, "AGENT_FILE": str(path),
               "PLATFORM_URL": platform, "PLATFORM_TOKEN": "platform-token-1"}
        env.pop("CHATKIT_AGENT_ID")
        app = create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True})
        admin = SignedInAdmin(app.test_client())
        admin.login("alice", PASSWORD)
        events = sse_events(chatkit(admin, create_thread("Which pipelines failed?")).get_data())
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    answer = done[-1]
    assert answer["type"] == "assistant_message", events
    text = answer["content"][0]["text"]
    assert text.startswith("Here is what list_failed_pipelines returned:")
    assert "orders_daily" in text and "events_rollup" in text and "platform-token-1" not in text
    workflow = next(item for item in done if item["type"] == "workflow")
    assert workflow["workflow"]["tasks"][0]["title"].startswith("Ran list_failed_pipelines")
