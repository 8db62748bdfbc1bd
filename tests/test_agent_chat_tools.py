"""The self-hosted chat agent's tools: the same agent file's tools, run on the server, shown in the widget as a
workflow ("Running NAME…", then its output), kept in the thread and recorded in the activity record as "chat".
The model is the Agents SDK's scripted test model; the platform is mocked with responses."""

import json

import pytest
import responses
from agents.testing import ScriptedModel, assistant_message, function_call

import activity
from app import create_app
from core.clock import FixedClock
from tests.support import TODAY
from tests.test_agent_voice_tools import AGENT, PLATFORM, TOKEN, tool_rows
from tests.test_chatkit_selfhosted import chatkit, create_thread, signed_in, sse_events


@pytest.fixture
def model():
    return ScriptedModel()


def selfhosted_app(base_env, model, **overrides):
    env = {**base_env, "CHATKIT_INSTRUCTIONS": "You are the test agent.", **overrides}
    env.pop("CHATKIT_AGENT_ID")
    return create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})


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


def approval_flow(app, model, text="Rerun nightly", call_id="call_chat_4"):
    """Asks for a confirm tool: returns (admin, thread_id, the approval card item)."""
    model.enqueue([function_call("rerun_pipeline", {"name": "nightly"}, call_id=call_id)])
    alice = signed_in(app)
    events = sse_events(chatkit(alice, create_thread(text)).get_data())
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    return alice, events[0]["thread"]["id"], done[-1]


def click(admin, thread_id, card, kind, call_id=None):
    call_id = call_id or card["widget"]["children"][2]["children"][0]["onClickAction"]["payload"]["call_id"]
    body = {"type": "threads.custom_action",
            "params": {"thread_id": thread_id, "item_id": card["id"], "action": {"type": kind, "payload": {"call_id": call_id}}}}
    return chatkit(admin, body)


def widget_texts(widget):
    texts = [widget.get("value")] if isinstance(widget.get("value"), str) else []
    for child in widget.get("children") or []:
        texts += widget_texts(child)
    return texts


def test_a_confirm_tool_waits_for_approve_in_the_widget_then_runs_once(tools_app, model, platform):
    platform.post(f"{PLATFORM}/pipelines/nightly/rerun", json={"run": 7})
    alice, thread_id, card = approval_flow(tools_app, model)
    assert len(platform.calls) == 0  # the SDK held the call back
    assert card["type"] == "widget"
    texts = widget_texts(card["widget"])
    assert texts[0].startswith("rerun_pipeline changes the platform") and '"nightly"' in texts[1]
    buttons = card["widget"]["children"][2]["children"]
    assert [(b["label"], b["onClickAction"]["type"]) for b in buttons] == [("Approve", "tool.approve"), ("Deny", "tool.deny")]
    assert buttons[0]["onClickAction"]["payload"] == {"call_id": "call_chat_4"}
    assert tool_rows(tools_app) == []  # nothing ran, nothing to record yet

    model.enqueue([assistant_message("Rerun started: run 7.", item_id="msg_tools_4")])
    response = click(alice, thread_id, card, "tool.approve")
    events = sse_events(response.get_data())
    assert len(platform.calls) == 1 and platform.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert '"run": 7' in json.dumps(model.last_call.input) or '\\"run\\": 7' in json.dumps(model.last_call.input)
    replaced = [event["item"] for event in events if event["type"] == "thread.item.replaced"]
    assert widget_texts(replaced[0]["widget"]) == ["Approved: running rerun_pipeline…"]
    final = widget_texts(replaced[-1]["widget"])[0]
    assert final.startswith("Approved: rerun_pipeline ran in ") and final.endswith(" ms.")
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    assert done[-1]["type"] == "assistant_message" and done[-1]["content"][0]["text"] == "Rerun started: run 7."

    # The thread keeps the decided card (no buttons) and the answer.
    listed = chatkit(alice, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}).get_json()
    kept = next(item for item in listed["data"] if item["id"] == card["id"])
    assert widget_texts(kept["widget"]) == [final] and "Button" not in json.dumps(kept)
    assert listed["data"][-1]["type"] == "assistant_message"
    activity.flush_mints()
    row = tool_rows(tools_app)[-1]
    assert (row["admin"], row["channel"], row["tool"], row["outcome"], row["call_id"]) == (
        "alice", "chat", "rerun_pipeline", "ok", "call_chat_4")

    # A second click (an old tab, a double click) changes nothing and runs nothing.
    calls_before = len(model.calls)
    again = sse_events(click(alice, thread_id, card, "tool.approve").get_data())
    again += sse_events(click(alice, thread_id, card, "tool.deny").get_data())
    assert len(platform.calls) == 1 and len(model.calls) == calls_before
    assert not [event for event in again if event["type"].startswith("thread.item")]


def test_deny_runs_nothing_and_the_model_says_it_was_declined(tools_app, model, platform):
    alice, thread_id, card = approval_flow(tools_app, model, call_id="call_chat_5")
    model.enqueue([assistant_message("OK, I did not rerun nightly: you declined.", item_id="msg_tools_5")])
    events = sse_events(click(alice, thread_id, card, "tool.deny").get_data())
    assert len(platform.calls) == 0
    assert "declined" in json.dumps(model.last_call.input)
    replaced = [event["item"] for event in events if event["type"] == "thread.item.replaced"]
    assert widget_texts(replaced[-1]["widget"]) == ["Denied: rerun_pipeline was not run."]
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    assert "declined" in done[-1]["content"][0]["text"]
    activity.flush_mints()
    row = tool_rows(tools_app)[-1]
    assert (row["channel"], row["tool"], row["outcome"], row["error_code"], row["call_id"]) == (
        "chat", "rerun_pipeline", "error", "approval_denied", "call_chat_5")
    # Approve after Deny: nothing.
    sse_events(click(alice, thread_id, card, "tool.approve").get_data())
    assert len(platform.calls) == 0


def test_another_admin_cannot_decide_an_approval(tools_app, model, platform, admins_file):
    from core.admins import add_admin
    from tests.support import PASSWORD

    add_admin(admins_file, "bob", PASSWORD)
    _alice, thread_id, card = approval_flow(tools_app, model, call_id="call_chat_6")
    bob = signed_in(tools_app, "bob")
    response = click(bob, thread_id, card, "tool.approve")
    assert response.status_code == 404
    assert len(platform.calls) == 0 and len(model.calls) == 1
