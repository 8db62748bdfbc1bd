"""The self-hosted chat agent's tools: the same agent file's tools, run on the server, shown in the widget as a
workflow ("Running NAME…", then its output), kept in the thread and recorded in the activity record as "chat".
The model is the Agents SDK's scripted test model; the platform is mocked with responses."""

import json

import pytest
import responses
from agents.testing import ScriptedModel, assistant_message, function_call

import activity
from app import create_app
from tests.test_agent_voice_tools import AGENT, PLATFORM, TOKEN, tool_rows
from tests.test_chatkit_selfhosted import chatkit, create_thread, signed_in, sse_events


@pytest.fixture
def model():
    return ScriptedModel()


def selfhosted_app(base_env, model, **overrides):
    env = {**base_env, "CHATKIT_INSTRUCTIONS": "You are the test agent.", **overrides}
    env.pop("CHATKIT_AGENT_ID")
    return create_app({"ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})


@pytest.fixture
def tools_app(base_env, model, tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    return selfhosted_app(base_env, model, AGENT_FILE=str(path), PLATFORM_URL=PLATFORM, PLATFORM_TOKEN=TOKEN)


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_a_tool_call_runs_on_the_server_shows_progress_and_stays_in_the_thread(tools_app, model, platform):
    platform.get(f"{PLATFORM}/pipelines", json=[{"name": "nightly-orders", "status": "failed"}])
    model.extend([
        [function_call("list_failed_pipelines", {"since": "2026-11-26T00:00:00Z"}, call_id="call_chat_1")],
        [assistant_message("nightly-orders failed.", item_id="msg_tools_1")],
    ])
    alice = signed_in(tools_app)
    events = sse_events(chatkit(alice, create_thread("Which pipelines failed?")).get_data())

    # The platform got the call with the agent file's credentials; the model got the output.
    assert platform.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert [tool.name for tool in model.calls[0].tools] == ["list_failed_pipelines", "rerun_pipeline"]
    assert "nightly-orders" in json.dumps(model.last_call.input)

    # The widget saw "Running …" first, then the finished task, then the answer.
    added = [event["item"] for event in events if event["type"] == "thread.item.added"]
    workflow = next(item for item in added if item["type"] == "workflow")
    assert workflow["workflow"]["tasks"][0]["title"] == "Running list_failed_pipelines…"
    updates = [event for event in events if event["type"] == "thread.item.updated" and event["item_id"] == workflow["id"]]
    finished = updates[-1]["update"]["task"]
    assert finished["title"].startswith("Ran list_failed_pipelines") and "nightly-orders" in finished["content"]
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    assert [item["type"] for item in done][-2:] == ["workflow", "assistant_message"]

    # The thread keeps the call: a reload shows the workflow naming the tool, before the answer.
    thread_id = events[0]["thread"]["id"]
    listed = chatkit(alice, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}).get_json()
    types = [item["type"] for item in listed["data"]]
    assert types == ["user_message", "workflow", "assistant_message"]
    stored = listed["data"][1]["workflow"]["tasks"][0]
    assert "list_failed_pipelines" in stored["title"] and "nightly-orders" in stored["content"]

    row = tool_rows(tools_app)[-1]
    assert (row["admin"], row["channel"], row["tool"], row["outcome"], row["call_id"]) == (
        "alice", "chat", "list_failed_pipelines", "ok", "call_chat_1")


def test_a_failed_tool_call_is_told_to_the_model_and_recorded(tools_app, model, platform):
    platform.get(f"{PLATFORM}/pipelines", status=500, body="boom")
    model.extend([
        [function_call("list_failed_pipelines", "{}", call_id="call_chat_2")],
        [assistant_message("The platform failed.", item_id="msg_tools_2")],
    ])
    alice = signed_in(tools_app)
    events = sse_events(chatkit(alice, create_thread("Which pipelines failed?")).get_data())
    assert "Error (tool_failed)" in json.dumps(model.last_call.input) and "HTTP 500" in json.dumps(model.last_call.input)
    workflow_updates = [event["update"]["task"] for event in events
                        if event["type"] == "thread.item.updated" and event["update"].get("type") == "workflow.task.updated"]
    assert workflow_updates[-1]["title"] == "list_failed_pipelines failed (tool_failed)"
    activity.flush_mints()
    row = tool_rows(tools_app)[-1]
    assert (row["channel"], row["outcome"], row["error_code"]) == ("chat", "error", "tool_failed")


def test_without_an_agent_file_the_chat_agent_has_no_tools(base_env, model):
    app = selfhosted_app(base_env, model)
    model.enqueue([assistant_message("hi", item_id="msg_tools_3")])
    chatkit(signed_in(app), create_thread("hello")).get_data()
    assert list(model.last_call.tools) == []


def test_a_confirm_tool_is_not_run_in_chat_and_the_admin_is_told_why(tools_app, model, platform):
    model.enqueue([function_call("rerun_pipeline", {"name": "nightly"}, call_id="call_chat_4")])
    alice = signed_in(tools_app)
    events = sse_events(chatkit(alice, create_thread("Rerun nightly")).get_data())
    assert len(platform.calls) == 0  # the SDK held the call back for approval
    answer = [event["item"] for event in events if event["type"] == "thread.item.done"][-1]
    assert answer["type"] == "assistant_message"
    assert answer["content"][0]["text"].startswith("rerun_pipeline changes the platform")
    thread_id = events[0]["thread"]["id"]
    listed = chatkit(alice, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}).get_json()
    assert [item["type"] for item in listed["data"]] == ["user_message", "assistant_message"]
    row = tool_rows(tools_app)[-1]
    assert (row["channel"], row["tool"], row["outcome"], row["error_code"], row["call_id"]) == (
        "chat", "rerun_pipeline", "error", "approval_required", "call_chat_4")
