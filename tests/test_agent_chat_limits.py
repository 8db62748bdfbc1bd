"""The chat agent's tool calls are bounded: they count against TOOL_RATE_LIMIT with the voice page's, a message has
at most CHAT_MAX_TURNS model turns, a slow tool never takes the threads the chat store reads with, and the approval
card shows the path first, says when it cuts, and refuses what it could not show."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from agents.testing import ScriptedModel, assistant_message, function_call

import activity
from agent.definition import load_definition
from agent.executor import TOOL_POOL_THREADS
from agent.mcp_tools import AgentTools
from agent.sdk_tools import sdk_function_tools
from app import create_app
from chat.approval_cards import CARD_ARGUMENT_CHARS, MAX_APPROVAL_ARGUMENT_CHARS
from core.clock import FixedClock
from tests.support import PASSWORD, TODAY, SignedInAdmin

PLATFORM = "http://platform.test"
TOKEN = "tok-chat-limits-3"
AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }

[[tools]]
name = "rerun_pipeline"
description = "Reruns one pipeline."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { reason = { type = "string" }, name = { type = "string" } }, required = ["name"] }
'''


@pytest.fixture
def model():
    return ScriptedModel()


@pytest.fixture
def make_chat_app(base_env, model, tmp_path):
    def build(**overrides):
        path = tmp_path / "agent.toml"
        path.write_text(AGENT)
        env = {**base_env, "CHATKIT_INSTRUCTIONS": "You are the test agent.", "AGENT_FILE": str(path),
               "PLATFORM_URL": PLATFORM, "PLATFORM_TOKEN": TOKEN, **overrides}
        env.pop("CHATKIT_AGENT_ID")
        return create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})

    return build


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def signed_in(app, name="alice"):
    admin = SignedInAdmin(app.test_client())
    admin.login(name, PASSWORD)
    return admin


def ask(admin, text):
    request = {"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}}
    raw = admin.post("/chatkit", data=json.dumps(request), content_type="application/json").get_data(as_text=True)
    return [json.loads(line[len("data: "):]) for line in raw.split("\n") if line.startswith("data: ")]


def error_codes(app):
    activity.flush_mints()
    with app.app_context():
        from core.database import database

        with database().connect() as connection:
            return [row.error_code for row in connection.execute(activity.tool_calls.select().order_by("id"))]


def texts(widget):
    found = [widget["value"]] if isinstance(widget.get("value"), str) else []
    for child in widget.get("children") or []:
        found += texts(child)
    return found


# --- 8. chat calls count ----------------------------------------------------------------------------------------


def test_chat_tool_calls_count_against_tool_rate_limit(make_chat_app, model, platform):
    app = make_chat_app(TOOL_RATE_LIMIT="2 per minute")
    platform.get(f"{PLATFORM}/pipelines", json=[])
    model.enqueue([function_call("list_failed_pipelines", {}, call_id=f"call_{n}") for n in range(3)])
    model.enqueue([assistant_message("Done.", item_id="msg_1")])
    ask(signed_in(app), "which failed? ask three times")
    assert len(platform.calls) == 2
    assert sorted(error_codes(app), key=str) == [None, None, "rate_limited"]  # the SDK runs the three at once
    told = json.dumps(model.last_call.input)
    assert "Error (rate_limited): Too many requests (2 per 1 minute)" in told


def test_chat_and_voice_share_one_tool_budget(make_chat_app, model, platform):
    app = make_chat_app(TOOL_RATE_LIMIT="2 per minute")
    platform.get(f"{PLATFORM}/pipelines", json=[])
    alice = signed_in(app)
    for call_id in ("call_v1", "call_v2"):
        assert alice.post("/api/v1/realtime/tool-calls", json={
            "name": "list_failed_pipelines", "arguments": "{}", "call_id": call_id}).status_code == 200
    model.enqueue([function_call("list_failed_pipelines", {}, call_id="call_c1")])
    model.enqueue([assistant_message("None left.", item_id="msg_2")])
    ask(alice, "which failed?")
    assert len(platform.calls) == 2 and error_codes(app)[-1] == "rate_limited"


def test_a_message_stops_after_chat_max_turns_and_says_so(make_chat_app, model, platform):
    app = make_chat_app(CHAT_MAX_TURNS="2")
    platform.get(f"{PLATFORM}/pipelines", json=[])
    for turn in range(5):  # a model that never stops calling tools
        model.enqueue([function_call("list_failed_pipelines", {}, call_id=f"call_t{turn}")])
    events = ask(signed_in(app), "loop")
    assert len(platform.calls) == 2
    errors = [event for event in events if event["type"] == "error"]
    assert errors and "stopped after 2 steps without an answer (CHAT_MAX_TURNS)" in errors[-1]["message"]


def test_chat_max_turns_is_checked_at_start_up(make_chat_app):
    with pytest.raises(SystemExit, match="CHAT_MAX_TURNS"):
        make_chat_app(CHAT_MAX_TURNS="0")


# --- 4. a bounded pool of their own -----------------------------------------------------------------------------


class _SlowPlatform:
    """Answers nothing for as long as the test holds `release`; counts the requests it holds."""

    def __init__(self):
        self.release, self.held = threading.Event(), []
        slow = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_GET(self):
                slow.held.append(self.path)
                slow.release.wait(10)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"[]")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_slow_tool_calls_never_take_the_threads_the_chat_store_reads_with(tmp_path):
    slow = _SlowPlatform()
    try:
        path = tmp_path / "agent.toml"
        path.write_text(AGENT)
        definition = load_definition(str(path), {"PLATFORM_URL": slow.url, "PLATFORM_TOKEN": TOKEN})
        listing = sdk_function_tools(AgentTools(definition, connect=False))[0]

        class RunContext:
            context = None
            tool_call_id = "call_slow"

        async def scenario():
            # The loop's default pool, which the chat store's reads use (asyncio.to_thread), as big as the tools'.
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(TOOL_POOL_THREADS))
            calls = [asyncio.create_task(listing.on_invoke_tool(RunContext(), "{}")) for _ in range(TOOL_POOL_THREADS)]
            while len(slow.held) < TOOL_POOL_THREADS:  # as many slow calls as threads, all waiting on the platform
                await asyncio.sleep(0.01)
            try:
                read = await asyncio.wait_for(asyncio.to_thread(lambda: "a store read"), timeout=2)
            except TimeoutError:
                read = "the store's read waited behind the tools"
            slow.release.set()
            return read, await asyncio.gather(*calls)

        read, outputs = asyncio.run(scenario())
        assert read == "a store read" and outputs == ["[]"] * TOOL_POOL_THREADS
    finally:
        slow.close()


# --- 7. the approval card ---------------------------------------------------------------------------------------


def approval_cards(events):
    return [event["item"] for event in events
            if event["type"] == "thread.item.done" and event["item"]["type"] == "widget"]


def test_the_card_shows_the_path_placeholder_first_whatever_order_the_model_chose(make_chat_app, model, platform):
    app = make_chat_app()
    model.enqueue([function_call("rerun_pipeline", {"reason": "r" * 300, "name": "nightly"}, call_id="call_a1")])
    card, = approval_cards(ask(signed_in(app), "rerun nightly"))
    shown = texts(card["widget"])[1]
    assert shown.index('"name": "nightly"') < shown.index('"reason"')
    assert not [text for text in texts(card["widget"]) if "cut" in text]


def test_the_card_says_when_it_cuts_the_arguments(make_chat_app, model, platform):
    app = make_chat_app()
    model.enqueue([function_call("rerun_pipeline", {"reason": "r" * 3000, "name": "nightly"}, call_id="call_a2")])
    card, = approval_cards(ask(signed_in(app), "rerun nightly"))
    words = texts(card["widget"])
    assert len(words[1]) < CARD_ARGUMENT_CHARS + 20 and '"name": "nightly"' in words[1]
    assert words[2].startswith(f"The arguments are cut: showing the first {CARD_ARGUMENT_CHARS:,} of 3,0")
    assert [button["label"] for button in card["widget"]["children"][3]["children"]] == ["Approve", "Deny"]


def test_arguments_over_the_limit_get_no_approval_card_nothing_runs_and_the_model_is_told(make_chat_app, model, platform):
    app = make_chat_app()
    reason = "r" * MAX_APPROVAL_ARGUMENT_CHARS
    model.enqueue([function_call("rerun_pipeline", {"reason": reason, "name": "nightly"}, call_id="call_a3")])
    model.enqueue([assistant_message("I could not ask for that.", item_id="msg_3")])
    events = ask(signed_in(app), "rerun nightly")
    card, = approval_cards(events)
    assert "Button" not in json.dumps(card)
    assert texts(card["widget"])[0].startswith("rerun_pipeline was not offered for approval: its arguments are 8,0")
    assert len(platform.calls) == 0
    assert "more than the 8,000 an admin can review" in json.dumps(model.last_call.input)
    assert error_codes(app) == ["approval_too_large"]
