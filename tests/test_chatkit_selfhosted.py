"""Self-hosted ChatKit (CHATKIT_MODE=self-hosted): POST /chatkit, the database store scoped by admin, cancellation
on disconnect, and voice transcripts written into the current thread. The model is the Agents SDK's scripted
test model: no network."""

import asyncio
import itertools
import json
import re

import pytest
import responses
from agents.testing import ModelStep, ScriptedModel, assistant_message
from agents.testing.model import _stream_events_for_step

from app import create_app
from core.admins import add_admin
from core.clock import FixedClock
from core.openai_catalog import chat_model_problem
from tests.support import PASSWORD, TODAY, SignedInAdmin, admin_id_of, csrf_token_from, openai_id_of

BOB = "bob"
_answers = itertools.count()


def answer(text):
    # OpenAI gives every output item a unique id, and ChatKit keeps it as the thread item's id.
    return [assistant_message(text, item_id=f"msg_test_{next(_answers)}")]


def user_input(text):
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def create_thread(text):
    return {"type": "threads.create", "params": {"input": user_input(text)}}


def add_message(thread_id, text):
    return {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input(text)}}


def sse_events(raw):
    return [json.loads(line[len("data: "):]) for line in raw.decode().split("\n") if line.startswith("data: ")]


def item_texts(items):
    return [(item["type"], item["content"][0]["text"]) for item in items if item["type"].endswith("_message")]


@pytest.fixture
def model():
    return ScriptedModel()


@pytest.fixture
def make_selfhosted_app(base_env, admins_file):
    add_admin(admins_file, BOB, PASSWORD)

    def build(model, **overrides):
        env = {**base_env, "CHATKIT_AGENT_ID": None, "CHATKIT_INSTRUCTIONS": "You are the test agent.", **overrides}
        env = {name: value for name, value in env.items() if value is not None}
        return create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})

    return build


@pytest.fixture
def chat_app(make_selfhosted_app, model):
    return make_selfhosted_app(model)


def signed_in(app, name="alice"):
    admin = SignedInAdmin(app.test_client())
    admin.login(name, PASSWORD)
    return admin


@pytest.fixture
def alice(chat_app):
    return signed_in(chat_app)


def chatkit(admin, request, **kwargs):
    return admin.post("/chatkit", data=json.dumps(request), content_type="application/json", **kwargs)


def test_self_hosted_is_the_default_without_a_workflow(chat_app):
    assert chat_app.config["SETTINGS"].chat.mode == "self-hosted"


def test_a_new_thread_streams_the_agents_answer(alice, model):
    model.enqueue(answer("Hello from the agent"))
    response = chatkit(alice, create_thread("Hi"))
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    events = sse_events(response.get_data())
    kinds = [event["type"] for event in events]
    assert kinds[0] == "thread.created"
    assert "thread.item.updated" in kinds  # the answer arrives as deltas
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    assert item_texts(done) == [("user_message", "Hi"), ("assistant_message", "Hello from the agent")]
    assert model.last_call.system_instructions == "You are the test agent."


def test_a_thread_is_continued_with_its_history(alice, model):
    model.extend([answer("First answer"), answer("Second answer")])
    thread_id = sse_events(chatkit(alice, create_thread("First question")).get_data())[0]["thread"]["id"]
    chatkit(alice, add_message(thread_id, "Second question")).get_data()
    sent = [(entry["role"], json.dumps(entry["content"])) for entry in model.last_call.input]
    assert [role for role, _ in sent] == ["user", "assistant", "user"]
    assert "First question" in sent[0][1] and "First answer" in sent[1][1] and "Second question" in sent[2][1]
    listed = chatkit(alice, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}).get_json()
    assert item_texts(listed["data"]) == [
        ("user_message", "First question"),
        ("assistant_message", "First answer"),
        ("user_message", "Second question"),
        ("assistant_message", "Second answer"),
    ]


def test_the_model_sees_the_newest_history_not_the_oldest(alice, model, chat_app):
    from chat.agent import HISTORY_ITEMS

    thread_id = _thread_with_voice_lines(alice, count=HISTORY_ITEMS + 10)
    model.enqueue(answer("ok"))
    chatkit(alice, add_message(thread_id, "the newest question")).get_data()
    sent = model.last_call.input
    assert len(sent) == HISTORY_ITEMS
    assert "the newest question" in json.dumps(sent[-1])
    assert "line 0 " not in json.dumps(sent) and f"line {HISTORY_ITEMS + 9} " in json.dumps(sent)


def _thread_with_voice_lines(admin, count):
    entries = [{"role": "user", "text": f"line {index} said"} for index in range(count)]
    response = admin.post("/api/v1/chat/voice-transcript", json={"entries": entries})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]["threadId"]


def test_a_chat_turn_reads_the_threads_newest_items_from_the_database_at_most_once(alice, model, monkeypatch):
    reads = []
    from chat.store import DatabaseStore

    original = DatabaseStore._item_rows_sync  # every read of items from the database
    monkeypatch.setattr(DatabaseStore, "_item_rows_sync",
                        lambda self, *arguments: reads.append(arguments) or original(self, *arguments))
    model.extend([answer("First answer"), answer("Second answer")])
    thread_id = sse_events(chatkit(alice, create_thread("First question")).get_data())[0]["thread"]["id"]
    assert reads == []  # a new thread: its items are known without asking
    chatkit(alice, add_message(thread_id, "Second question")).get_data()
    assert len(reads) == 1
    # ...and the model still saw the whole history, newest last.
    sent = [json.dumps(entry["content"]) for entry in model.last_call.input]
    assert len(sent) == 3 and "First question" in sent[0] and "Second question" in sent[2]


def test_threads_are_listed_newest_first_as_json(alice, model):
    model.extend([answer("a"), answer("b")])
    first = sse_events(chatkit(alice, create_thread("one")).get_data())[0]["thread"]["id"]
    second = sse_events(chatkit(alice, create_thread("two")).get_data())[0]["thread"]["id"]
    response = chatkit(alice, {"type": "threads.list", "params": {"limit": 10, "order": "desc"}})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert [thread["id"] for thread in response.get_json()["data"]] == [second, first]


def test_the_store_is_scoped_by_admin(chat_app, alice, model):
    model.enqueue(answer("for alice only"))
    thread_id = sse_events(chatkit(alice, create_thread("alice's secret")).get_data())[0]["thread"]["id"]
    bob = signed_in(chat_app, BOB)
    assert chatkit(bob, {"type": "threads.list", "params": {}}).get_json()["data"] == []
    response = chatkit(bob, {"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = chatkit(bob, add_message(thread_id, "let me in"))
    assert response.status_code == 404
    assert len(model.calls) == 1  # bob's message never reached the model


def test_the_endpoint_refuses_a_signed_out_caller_with_json(chat_app):
    response = chat_app.test_client().post("/chatkit", json=create_thread("hi"))
    assert response.status_code == 401 and response.get_json()["code"] == "not_authenticated"


def test_the_endpoint_requires_csrf(alice):
    response = alice.client.post("/chatkit", json=create_thread("hi"))
    assert response.status_code == 400 and response.get_json()["code"] == "csrf_failed"


def test_a_body_that_is_not_a_chatkit_request_answers_400(alice, model):
    response = chatkit(alice, {"type": "threads.explode", "params": {}})
    assert response.status_code == 400 and response.get_json()["code"] == "bad_request"
    assert model.calls == ()


def test_hosted_mode_has_no_chatkit_endpoint(make_selfhosted_app, model):
    app = make_selfhosted_app(model, CHATKIT_AGENT_ID="wf_test123")
    assert app.config["SETTINGS"].chat.mode == "hosted"
    response = chatkit(signed_in(app), create_thread("hi"))
    assert response.status_code == 404 and response.get_json()["code"] == "not_self_hosted"


def test_without_an_api_key_the_endpoint_names_it(make_selfhosted_app, model):
    response = chatkit(signed_in(make_selfhosted_app(model, OPENAI_API_KEY=None)), create_thread("hi"))
    assert response.status_code == 503 and "OPENAI_API_KEY" in response.get_json()["message"]


def test_a_model_error_reaches_the_widget_in_words(alice, model):
    import httpx2 as httpx
    import openai

    request = httpx.Request("POST", "https://api.openai.com/v1/responses")
    refusal = openai.NotFoundError(
        "The model `gpt-x` does not exist", response=httpx.Response(404, request=request), body=None
    )
    model.enqueue(ModelStep.raise_error(refusal))
    events = sse_events(chatkit(alice, create_thread("hi")).get_data())
    error = [event for event in events if event["type"] == "error"][0]
    assert "The chat model refused" in error["message"] and "CHATKIT_MODEL" in error["message"]


def _stalling_answer(partial_text, started):
    """A scripted model step that streams `partial_text` and then waits until it is cancelled."""
    events = _stream_events_for_step(ModelStep(output=answer(partial_text)), preserve_raw_usage=False)

    async def stream(_call):
        for event in events:
            yield event
            if event.type == "response.output_text.delta":
                started.set()
                await asyncio.Event().wait()

    return ModelStep.stream(stream)


def test_a_client_that_goes_away_cancels_the_run_and_it_is_recorded(alice, model, chat_app):
    import threading

    started = threading.Event()
    model.enqueue(_stalling_answer("Half an ans", started))
    response = chatkit(alice, create_thread("Tell me everything"), buffered=False)
    chunks = iter(response.response)
    thread_id = None
    for chunk in chunks:
        for event in sse_events(chunk):
            thread_id = thread_id or event.get("thread", {}).get("id")
        if b"Half an ans" in chunk:  # the partial answer reached the browser
            break
    response.close()  # what werkzeug does when the browser disconnects
    store = chat_app.extensions["chat"].server().store
    items = store.load_thread_items_sync(thread_id, None, 20, "asc", admin_id_of(chat_app)).data
    kinds = [item.type for item in items]
    assert kinds == ["user_message", "assistant_message", "sdk_hidden_context"]
    assert items[1].content[0].text == "Half an ans"  # the partial answer is kept
    assert "cancelled" in items[2].content


def test_voice_transcripts_are_added_to_the_current_thread_without_a_model_turn(alice, model):
    model.enqueue(answer("typed answer"))
    thread_id = sse_events(chatkit(alice, create_thread("typed question")).get_data())[0]["thread"]["id"]
    response = alice.post(
        "/api/v1/chat/voice-transcript",
        json={"entries": [{"role": "user", "text": "spoken question", "id": "item_u1"},
                          {"role": "assistant", "text": "spoken answer", "id": "item_a1"}]},
    )
    assert response.status_code == 200
    assert response.get_json()["data"] == {"threadId": thread_id, "added": 2}
    items = chatkit(alice, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}).get_json()["data"]
    assert item_texts(items)[-2:] == [("user_message", "[voice] spoken question"), ("assistant_message", "[voice] spoken answer")]
    assert [item["id"] for item in items[-2:]] == ["msg_voice_item_u1", "msg_voice_item_a1"]
    assert len(model.calls) == 1  # only the typed question started a model turn


def test_posting_the_same_transcript_line_twice_updates_it(alice):
    first = alice.post("/api/v1/chat/voice-transcript", json={"entries": [{"role": "user", "text": "draft", "id": "i1"}]})
    thread_id = first.get_json()["data"]["threadId"]
    alice.post("/api/v1/chat/voice-transcript", json={"threadId": thread_id, "entries": [{"role": "user", "text": "final", "id": "i1"}]})
    items = chatkit(alice, {"type": "items.list", "params": {"thread_id": thread_id}}).get_json()["data"]
    assert item_texts(items) == [("user_message", "[voice] final")]


def test_voice_transcripts_without_a_thread_start_one(alice):
    response = alice.post("/api/v1/chat/voice-transcript", json={"entries": [{"role": "user", "text": "hello"}]})
    thread_id = response.get_json()["data"]["threadId"]
    thread = chatkit(alice, {"type": "threads.get_by_id", "params": {"thread_id": thread_id}}).get_json()
    assert thread["title"] == "Voice conversation"


def test_voice_transcripts_cannot_reach_another_admins_thread(chat_app, alice):
    thread_id = alice.post("/api/v1/chat/voice-transcript", json={"entries": [{"role": "user", "text": "mine"}]}).get_json()["data"]["threadId"]
    bob = signed_in(chat_app, BOB)
    response = bob.post("/api/v1/chat/voice-transcript", json={"threadId": thread_id, "entries": [{"role": "user", "text": "x"}]})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"entries": []},
        {"entries": [{"role": "system", "text": "x"}]},
        {"entries": [{"role": "user", "text": "   "}]},
        {"entries": [{"role": "user", "text": "x", "id": "has space"}]},
        {"entries": [{"role": "user", "text": "x"}], "extra": 1},
        {"threadId": 5, "entries": [{"role": "user", "text": "x"}]},
    ],
)
def test_a_malformed_transcript_answers_400(alice, body):
    response = alice.post("/api/v1/chat/voice-transcript", json=body)
    assert response.status_code == 400 and response.get_json()["code"] == "bad_request"


def test_voice_transcripts_need_self_hosted_mode(make_selfhosted_app, model):
    admin = signed_in(make_selfhosted_app(model, CHATKIT_AGENT_ID="wf_test123"))
    response = admin.post("/api/v1/chat/voice-transcript", json={"entries": [{"role": "user", "text": "x"}]})
    assert response.status_code == 409 and "self-hosted" in response.get_json()["message"]


def test_voice_transcripts_require_csrf_and_sign_in(chat_app, alice):
    assert alice.client.post("/api/v1/chat/voice-transcript", json={"entries": []}).status_code == 400
    assert chat_app.test_client().post("/api/v1/chat/voice-transcript", json={}).status_code == 401


def test_the_chat_page_opens_the_current_thread(alice):
    thread_id = _thread_with_voice_lines(alice, count=1)
    html = alice.client.get("/admin/chat").get_data(as_text=True)
    assert f'data-current-thread="{thread_id}"' in html
    assert 'data-mode="self-hosted"' in html and 'data-chatkit-url="/chatkit"' in html


def chat_page_on(app, host):
    client = app.test_client()
    base_url = f"http://{host}"
    token = csrf_token_from(client.get("/login", base_url=base_url).get_data(as_text=True))
    client.post("/login", base_url=base_url, data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    return client.get("/admin/chat", base_url=base_url).get_data(as_text=True)


def test_the_chat_page_needs_a_domain_key_outside_localhost(chat_app):
    html = chat_page_on(chat_app, "console.example.org")
    assert "CHATKIT_DOMAIN_KEY" in html and 'data-ready="false"' in html
    local = chat_page_on(chat_app, "127.0.0.1:5000")
    assert 'data-ready="true"' in local and 'data-domain-key="domain_pk_localhost_dev"' in local


@pytest.mark.parametrize(
    "host, local",
    [("localhost:5000", True), ("chat.localhost", True), ("127.0.0.2", True), ("[::1]:8000", True),
     ("console.example.org", False), ("10.0.0.5:5000", False), ("localhost.example.org", False)],
)
def test_localhost_is_recognised(host, local):
    from blueprints.chatkit import is_local_host

    assert is_local_host(host) is local


def test_a_configured_domain_key_is_handed_to_the_widget(make_selfhosted_app, model):
    html = chat_page_on(make_selfhosted_app(model, CHATKIT_DOMAIN_KEY="domain_pk_123"), "console.example.org")
    assert 'data-domain-key="domain_pk_123"' in html and 'data-ready="true"' in html


def test_the_hosted_chat_page_explains_the_agent_builder_retirement(make_selfhosted_app, model):
    html = signed_in(make_selfhosted_app(model, CHATKIT_AGENT_ID="wf_test123")).client.get("/admin/chat").get_data(as_text=True)
    assert "2026-11-30" in html and "CHATKIT_MODE=self-hosted" in html and 'data-mode="hosted"' in html


@pytest.fixture
def sandbox_url():
    """The local sandbox (sandbox/server.py with sandbox/responses.py) on a free port, in a thread."""
    from aiohttp import web

    from core.background_loop import BackgroundLoop
    from sandbox.server import create_sandbox_app

    async def start():
        runner = web.AppRunner(create_sandbox_app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    # Everything happens on the sandbox's own thread, whatever loop the test thread may have.
    with BackgroundLoop(name="sandbox") as loop:
        runner, port = loop.run(start(), timeout=10)
        yield f"http://127.0.0.1:{port}/v1"
        loop.run(runner.cleanup(), timeout=10)


def test_without_a_key_the_sandbox_answers_the_agent_through_the_responses_api(make_selfhosted_app, sandbox_url):
    app = make_selfhosted_app(None, OPENAI_API_KEY="sk-sandbox", OPENAI_BASE_URL=sandbox_url)
    admin = signed_in(app)
    events = sse_events(chatkit(admin, create_thread("Hello sandbox")).get_data())
    done = [event["item"] for event in events if event["type"] == "thread.item.done"]
    assert item_texts(done)[-1][0] == "assistant_message"
    assert 'you said "Hello sandbox"' in item_texts(done)[-1][1]
    # The second turn goes through the same cached async client on the same loop.
    thread_id = events[0]["thread"]["id"]
    events = sse_events(chatkit(admin, add_message(thread_id, "Again")).get_data())
    assert 'you said "Again"' in [event for event in events if event["type"] == "thread.item.done"][-1]["item"]["content"][0]["text"]


def test_the_sandbox_refuses_a_wrong_key_and_the_widget_is_told(make_selfhosted_app, sandbox_url):
    app = make_selfhosted_app(None, OPENAI_API_KEY="sk-wrong", OPENAI_BASE_URL=sandbox_url)
    events = sse_events(chatkit(signed_in(app), create_thread("hi")).get_data())
    error = [event for event in events if event["type"] == "error"][0]
    assert "The chat model refused" in error["message"] and "OPENAI_API_KEY" in error["message"]


def test_export_hosted_copies_an_admins_threads_into_the_store(chat_app, openai_mock):
    from core.admins import legacy_admin_id

    base = "https://api.openai.com/v1/chatkit/threads"
    user = legacy_admin_id("alice")  # hosted sessions opened before admin ids
    openai_mock.get(
        base,
        match=[responses.matchers.query_param_matcher({"user": openai_id_of(chat_app), "limit": "100", "order": "asc"})],
        json={"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False},
    )
    openai_mock.get(
        base,
        match=[responses.matchers.query_param_matcher({"user": user, "limit": "100", "order": "asc"})],
        json={"object": "list", "data": [{"id": "cthr_1", "object": "chatkit.thread", "created_at": 1764000000,
                                          "title": "Nightly jobs", "status": {"type": "active"}, "user": user}],
              "first_id": "cthr_1", "last_id": "cthr_1", "has_more": False},
    )
    openai_mock.get(
        f"{base}/cthr_1/items",
        json={"object": "list", "has_more": False, "data": [
            {"id": "cthi_1", "object": "chatkit.thread_item", "type": "chatkit.user_message", "thread_id": "cthr_1",
             "created_at": 1764000001, "content": [{"type": "input_text", "text": "Which jobs failed?"}],
             "attachments": [], "inference_options": {}},
            {"id": "cthi_2", "object": "chatkit.thread_item", "type": "chatkit.widget", "thread_id": "cthr_1",
             "created_at": 1764000002, "widget": "{}"},
            {"id": "cthi_3", "object": "chatkit.thread_item", "type": "chatkit.assistant_message",
             "thread_id": "cthr_1", "created_at": 1764000003,
             "content": [{"type": "output_text", "text": "Two of them.", "annotations": []}]},
        ]},
    )
    runner = chat_app.test_cli_runner()
    result = runner.invoke(args=["chatkit", "export-hosted", "alice"])
    assert result.exit_code == 0, result.output
    assert "Exported 1 thread(s) with 2 message(s)" in result.output and "1 item(s) other than messages" in result.output
    assert openai_mock.calls[0].request.headers["OpenAI-Beta"] == "chatkit_beta=v1"
    store = chat_app.extensions["chat"].server().store
    assert store.load_thread_sync("cthr_1", admin_id_of(chat_app)).title == "Nightly jobs"
    items = store.load_thread_items_sync("cthr_1", None, 10, "asc", admin_id_of(chat_app)).data
    assert [(item.type, item.content[0].text) for item in items] == [
        ("user_message", "Which jobs failed?"), ("assistant_message", "Two of them.")
    ]
    again = runner.invoke(args=["chatkit", "export-hosted", "alice"])
    assert "1 thread(s) were already here" in again.output


def test_export_hosted_explains_a_refusal(chat_app, openai_mock):
    openai_mock.get("https://api.openai.com/v1/chatkit/threads", status=401,
                    json={"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}})
    result = chat_app.test_cli_runner().invoke(args=["chatkit", "export-hosted", "alice"])
    assert result.exit_code != 0 and "Failed to read hosted ChatKit threads: Incorrect API key provided." in result.output


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"CHATKIT_MODE": "workflow"}, "CHATKIT_MODE='workflow' is not allowed: hosted"),
        ({"CHATKIT_MODEL": "chatgpt-4o-latest"}, "shut down on 2026-02-17"),
        ({"CHATKIT_MODEL": "gpt-realtime-2.1"}, "a speech model cannot answer text chat"),
        ({"CHATKIT_SCRIPT_URL": "https://evil.example/chatkit.js"}, "the content security policy allows no other host"),
    ],
)
def test_chat_settings_are_validated_at_start_up(variables, message):
    from core.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings({"FLASK_DEBUG": "1", **variables}, today=TODAY)


def test_chat_settings_defaults():
    from core.config import load_settings
    from core.openai_catalog import DEFAULT_CHATKIT_SCRIPT_URL

    settings = load_settings({"FLASK_DEBUG": "1", "OPENAI_REALTIME_INSTRUCTIONS": "Be brief."}, today=TODAY)
    assert (settings.chat.mode, settings.chat.instructions) == ("self-hosted", "Be brief.")
    assert settings.chat.script_url == DEFAULT_CHATKIT_SCRIPT_URL
    hosted = load_settings({"FLASK_DEBUG": "1", "CHATKIT_AGENT_ID": "wf_1", "CHATKIT_INSTRUCTIONS": "Chat only."}, today=TODAY)
    assert (hosted.chat.mode, hosted.chat.instructions) == ("hosted", "Chat only.")
    assert [variable for variable, _ in hosted.missing_for_chat()] == ["OPENAI_API_KEY"]


def test_the_chat_page_allows_chatkits_cdn_as_openai_documents(alice):
    response = alice.client.get("/admin/chat")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://cdn.platform.openai.com" in policy
    assert "frame-src https://cdn.platform.openai.com" in policy
    assert "Cross-Origin-Embedder-Policy" not in response.headers  # require-corp breaks the widget
    assert "<script>" not in response.get_data(as_text=True)  # no inline code: the CSP forbids it


@pytest.mark.parametrize("model, words", [
    ("gpt-4", "was shut down on 2026-10-23"),
    ("gpt-4-0613", "was shut down on 2026-10-23"),
    ("gpt-5-2025-08-07", "shuts down on 2026-12-11"),
    ("gpt-4o", "shuts down on 2027-01-14"),
])
def test_a_chat_model_on_the_deprecations_page_is_refused_with_its_date(model, words):
    problem = chat_model_problem(model, today="2026-11-25")
    assert problem and words in problem


@pytest.mark.parametrize("model", ["gpt-5.5", "gpt-5.6-luna", "gpt-5.4-mini"])
def test_current_chat_models_and_newer_families_are_accepted(model):
    assert chat_model_problem(model, today="2026-11-25") is None


# --- limits and retention --------------------------------------------------------------------------------------


def _open_stalled_stream(admin, model):
    """Starts an answer that streams a little and then waits; returns the open response once text has arrived."""
    import threading

    model.enqueue(_stalling_answer("Half", threading.Event()))
    response = chatkit(admin, create_thread("Tell me everything"), buffered=False)
    for chunk in response.response:
        if b"Half" in chunk:
            return response
    raise AssertionError("the stalled answer never streamed")


def test_an_admin_with_the_maximum_of_answers_streaming_is_told_to_wait(make_selfhosted_app, model):
    app = make_selfhosted_app(model, CHAT_MAX_STREAMS_PER_ADMIN="2")
    alice = signed_in(app)
    streams = [_open_stalled_stream(alice, model) for _ in range(2)]
    refused = chatkit(alice, create_thread("One more"))
    for stream in streams:
        stream.close()
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "too_many_streams"
    assert refused.get_json()["message"] == "You have 2 chat answers streaming already; wait for one to finish."
    assert int(refused.headers["Retry-After"]) > 0


def test_an_admin_with_the_maximum_of_answers_streaming_can_still_list_their_threads(make_selfhosted_app, model):
    app = make_selfhosted_app(model, CHAT_MAX_STREAMS_PER_ADMIN="1")
    alice = signed_in(app)
    stream = _open_stalled_stream(alice, model)
    listed = chatkit(alice, {"type": "threads.list", "params": {"limit": 10, "order": "desc"}})
    stream.close()
    assert listed.status_code == 200 and "data" in listed.get_json()


def test_a_stream_the_client_leaves_gives_its_slot_back(make_selfhosted_app, model):
    app = make_selfhosted_app(model, CHAT_MAX_STREAMS_PER_ADMIN="1")
    alice = signed_in(app)
    _open_stalled_stream(alice, model).close()  # the browser went away
    model.enqueue(answer("Next answer"))
    assert chatkit(alice, create_thread("Again")).status_code == 200


def test_the_worker_cap_counts_every_admins_streams(make_selfhosted_app, model):
    app = make_selfhosted_app(model, CHAT_MAX_STREAMS_PER_WORKER="1")
    stream = _open_stalled_stream(signed_in(app), model)
    refused = chatkit(signed_in(app, BOB), create_thread("Me too"))
    stream.close()
    assert refused.status_code == 429
    assert "CHAT_MAX_STREAMS_PER_WORKER" in refused.get_json()["message"]


def test_chat_requests_are_rate_limited_per_admin(make_selfhosted_app, model):
    app = make_selfhosted_app(model, CHAT_RATE_LIMIT="2 per minute")
    alice, bob = signed_in(app), signed_in(app, BOB)
    listing = {"type": "threads.list", "params": {"limit": 10, "order": "desc"}}
    answers = [chatkit(alice, listing) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].get_json()["code"] == "rate_limited" and int(answers[2].headers["Retry-After"]) > 0
    assert chatkit(bob, listing).status_code == 200  # bob has his own budget


def test_voice_transcripts_are_rate_limited_per_admin(make_selfhosted_app, model):
    alice = signed_in(make_selfhosted_app(model, TRANSCRIPT_RATE_LIMIT="1 per minute"))
    body = {"threadId": None, "entries": [{"role": "user", "text": "hello"}]}
    assert alice.post("/api/v1/chat/voice-transcript", json=body).status_code == 200
    refused = alice.post("/api/v1/chat/voice-transcript", json=body)
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"


def test_threads_untouched_for_the_retention_are_deleted_with_their_items(chat_app, alice, model, monkeypatch):
    from sqlalchemy import func, select, update

    from chat import retention
    from chat.tables import items_table, threads_table

    model.enqueue(answer("An old answer"))
    old_id = sse_events(chatkit(alice, create_thread("An old question")).get_data())[0]["thread"]["id"]
    engine = chat_app.extensions["chat"].engine
    with engine.begin() as connection:
        connection.execute(update(threads_table).where(threads_table.c.id == old_id).values(updated_at=1.0))
    monkeypatch.setitem(retention._last_prune, "at", -retention.PRUNE_INTERVAL_SECONDS)
    bob = signed_in(chat_app, BOB)  # any admin's write prunes
    new_id = bob.post("/api/v1/chat/voice-transcript",
                      json={"threadId": None, "entries": [{"role": "user", "text": "new"}]}).get_json()["data"]["threadId"]
    with engine.connect() as connection:
        threads = connection.execute(select(threads_table.c.id)).scalars().all()
        old_items = connection.execute(select(func.count()).where(items_table.c.thread_id == old_id)).scalar()
    assert threads == [new_id] and old_items == 0


def test_chat_limits_and_retention_defaults():
    from core.config import load_settings

    chat = load_settings({"SECRET_KEY": "s"}, today=TODAY).chat
    assert (chat.rate_limit, chat.transcript_rate_limit) == ("30 per minute", "60 per minute")
    assert (chat.max_streams_per_admin, chat.max_streams_per_worker, chat.retention_days) == (3, 32, 90)
