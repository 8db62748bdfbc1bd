"""The native chat view (CHAT_UI): its pages and the forms that work without JavaScript, over the same threads the
ChatKit widget shows. The model is the Agents SDK's scripted test model; the platform is mocked with responses."""

import json
import re
from datetime import datetime, timedelta

import pytest
import responses
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call

from app import create_app
from chat.approval_cards import CARD_ARGUMENT_CHARS, MAX_APPROVAL_ARGUMENT_CHARS
from chat.streams import stream_slots
from core.admins import add_admin
from core.clock import FixedClock
from core.config import ConfigError, load_settings
from core.openai_catalog import CHATKIT_CDN
from tests.support import PASSWORD, TODAY, SignedInAdmin, admin_id_of, csrf_token_from

PLATFORM = "http://platform.test"
TOKEN = "tok-chat-view-7"
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
confirm = true

[[tools]]
name = "pause_pipeline"
description = "Pauses one pipeline."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/pause"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
confirm = true
roles = ["operator"]
'''
_ids = iter(range(1_000_000))


def answer(text):
    return [assistant_message(text, item_id=f"msg_view_{next(_ids)}")]


@pytest.fixture
def model():
    return ScriptedModel()


@pytest.fixture
def make_chat_app(base_env, admins_file, model, tmp_path):
    add_admin(admins_file, "bob", PASSWORD)
    add_admin(admins_file, "olga", PASSWORD, ("operator",))

    def build(agent=False, **overrides):
        env = {**base_env, "CHATKIT_AGENT_ID": None, "CHATKIT_INSTRUCTIONS": "You are the test agent.", **overrides}
        if agent:
            (tmp_path / "agent.toml").write_text(AGENT)
            env.update(AGENT_FILE=str(tmp_path / "agent.toml"), PLATFORM_URL=PLATFORM, PLATFORM_TOKEN=TOKEN)
        env = {name: value for name, value in env.items() if value is not None}
        return create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})

    return build


@pytest.fixture
def chat_app(make_chat_app):
    return make_chat_app()


def signed_in(app, name="alice"):
    admin = SignedInAdmin(app.test_client())
    admin.login(name, PASSWORD)
    return admin


@pytest.fixture
def alice(chat_app):
    return signed_in(chat_app)


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def form_post(admin, path, **fields):
    """A form post as the page sends it without JavaScript: the CSRF token in the form, no header."""
    return admin.client.post(path, data={"csrf_token": admin.csrf_token, **fields})


def send(admin, text, thread_id=None):
    path = f"/admin/chat/threads/{thread_id}/messages" if thread_id else "/admin/chat/threads"
    return form_post(admin, path, text=text)


def thread_id_of(response):
    match = re.search(r"/admin/chat/threads/(thr_[A-Za-z0-9]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def page(admin, path):
    response = admin.client.get(path)
    return response.status_code, response.get_data(as_text=True)


def items_html(html):
    return html[html.index('id="chat-items"'):html.index('id="chat-live"')]


def chatkit(admin, body):
    return admin.post("/chatkit", data=json.dumps(body), content_type="application/json")


# --- CHAT_UI --------------------------------------------------------------------------------------------------


def settings_with(**environ):
    return load_settings({"FLASK_DEBUG": "1", **environ}, today=TODAY)


def test_chat_ui_is_auto_unless_set():
    assert settings_with().chat.ui == "auto"
    assert settings_with(CHAT_UI="Native").chat.ui == "native"
    assert settings_with(CHAT_UI="chatkit").chat.ui == "chatkit"


def test_an_unknown_chat_ui_stops_start_up_naming_the_values():
    with pytest.raises(ConfigError, match=r"CHAT_UI=.both. is not allowed: auto .*native .*chatkit"):
        settings_with(CHAT_UI="both")


def test_the_native_view_cannot_show_hosted_threads():
    with pytest.raises(ConfigError, match="CHAT_UI=.*hosted"):
        settings_with(CHAT_UI="native", CHATKIT_AGENT_ID="wf_1")


def test_in_native_mode_the_chat_page_is_the_native_view_and_the_csp_names_no_openai_host(make_chat_app):
    alice = signed_in(make_chat_app(CHAT_UI="native"))
    response = alice.client.get("/admin/chat")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="chat-native"' in html
    assert "openai.com" not in html and "admin-chat.js" not in html
    # The widget's CDN is gone from every page's policy (ephemeral voice still posts its offer to the API).
    policy = response.headers["Content-Security-Policy"]
    assert CHATKIT_CDN not in policy and "script-src 'self';" in policy and "frame-src 'none'" in policy
    assert CHATKIT_CDN not in alice.client.get("/admin/voice").headers["Content-Security-Policy"]


def test_in_auto_mode_the_widget_page_names_the_native_view_of_the_same_thread(alice, model):
    model.enqueue(answer("Hello."))
    thread_id = thread_id_of(send(alice, "Hello"))
    html = alice.client.get("/admin/chat").get_data(as_text=True)
    assert f'data-current-thread="{thread_id}"' in html
    assert 'data-native-url="/admin/chat/threads/THREAD_ID"' in html
    assert 'data-script-timeout-ms="4000"' in html
    # Without JavaScript the widget cannot run: the page sends the browser to the native view at once.
    assert f'<noscript><meta http-equiv="refresh" content="0; url=/admin/chat/threads/{thread_id}"></noscript>' in html


def test_in_chatkit_mode_the_widget_page_keeps_no_fallback(make_chat_app):
    html = signed_in(make_chat_app(CHAT_UI="chatkit")).client.get("/admin/chat").get_data(as_text=True)
    assert 'data-native-url=""' in html and "<noscript>" not in html and 'data-script-timeout-ms="15000"' in html


def test_in_hosted_mode_the_native_view_says_why_it_cannot_help(make_chat_app):
    alice = signed_in(make_chat_app(CHATKIT_AGENT_ID="wf_test123"))
    status, html = page(alice, "/admin/chat/threads")
    assert status == 404 and "CHATKIT_MODE=hosted" in html


# --- threads --------------------------------------------------------------------------------------------------


def make_threads(app, count, admin="alice"):
    """`count` titled threads in the store, created a minute apart, thread 0 first."""
    from chatkit.types import ThreadMetadata

    store = app.extensions["chat"].server().store
    start = datetime(2026, 12, 1, 9, 0)
    for index in range(count):
        store.save_thread_sync(ThreadMetadata(id=f"thr_many{index:03d}", title=f"Thread {index}",
                                              created_at=start + timedelta(minutes=index)), admin_id_of(app, admin))


def test_threads_are_listed_newest_first_in_pages(chat_app, alice):
    make_threads(chat_app, 25)
    _status, html = page(alice, "/admin/chat/threads/new")
    listed = re.findall(r">Thread (\d+)</a>", html)
    assert listed == [str(number) for number in range(24, 4, -1)]  # the newest 20
    more = re.search(r'hx-get="([^"]+)"[^>]*>More threads', html)
    assert more and 'href="/admin/chat/threads?after=thr_many005"' in html
    # htmx asks for the next page's rows alone; the plain link gives the whole page with them.
    rows = alice.client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert "HX-Request" in rows.headers["Vary"] and "<html" not in rows.get_data(as_text=True)
    assert re.findall(r">Thread (\d+)</a>", rows.get_data(as_text=True)) == ["4", "3", "2", "1", "0"]
    assert "More threads" not in rows.get_data(as_text=True)
    _status, second = page(alice, "/admin/chat/threads?after=thr_many005")
    assert re.findall(r">Thread (\d+)</a>", second)[:2] == ["4", "3"]


def test_a_new_thread_is_named_after_its_first_message(alice, model):
    model.enqueue(answer("Two failed."))
    thread_id = thread_id_of(send(alice, "Which pipelines failed last night?\nPlease check all of them carefully."))
    _status, html = page(alice, f"/admin/chat/threads/{thread_id}")
    assert '<h2 id="thread-title">Which pipelines failed last night? Please check all of them…</h2>' in html


def test_a_thread_can_be_renamed(alice, model):
    model.enqueue(answer("Two failed."))
    thread_id = thread_id_of(send(alice, "Which failed?"))
    renamed = form_post(alice, f"/admin/chat/threads/{thread_id}/rename", title="  Nightly   failures ")
    assert renamed.status_code == 303
    _status, html = page(alice, renamed.headers["Location"])
    assert '<h2 id="thread-title">Nightly failures</h2>' in html and "Renamed the thread" in html
    assert form_post(alice, f"/admin/chat/threads/{thread_id}/rename", title=" ").status_code == 400


def test_deleting_asks_first_and_then_removes_the_thread(alice, model):
    model.enqueue(answer("Two failed."))
    thread_id = thread_id_of(send(alice, "Which failed?"))
    _status, html = page(alice, f"/admin/chat/threads/{thread_id}")
    # The confirmation is a step of its own (a closed <details>), with the thread's name and a warning.
    assert "<summary>Delete…</summary>" in html and "This cannot be undone." in html
    deleted = form_post(alice, f"/admin/chat/threads/{thread_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/admin/chat/threads"
    status, html = page(alice, f"/admin/chat/threads/{thread_id}")
    assert status == 404 and f"Thread {thread_id} does not exist or belongs to another admin." in html


def test_another_admins_thread_is_not_shown_nor_changed(chat_app, alice, model):
    model.enqueue(answer("Secret answer."))
    thread_id = thread_id_of(send(alice, "Alice's question"))
    bob = signed_in(chat_app, "bob")
    status, html = page(bob, f"/admin/chat/threads/{thread_id}")
    assert status == 404 and "Secret answer" not in html
    assert send(bob, "hijack", thread_id).status_code == 404
    assert form_post(bob, f"/admin/chat/threads/{thread_id}/delete").status_code == 404
    assert page(alice, f"/admin/chat/threads/{thread_id}")[0] == 200


def test_the_widget_and_the_native_view_show_the_same_threads(alice, model):
    model.extend([answer("From the widget."), answer("From the native view.")])
    widget_input = {"content": [{"type": "input_text", "text": "Asked in the widget"}], "attachments": [],
                    "inference_options": {}}
    events = chatkit(alice, {"type": "threads.create", "params": {"input": widget_input}})
    widget_thread = json.loads(events.get_data(as_text=True).split("data: ", 2)[1].split("\n")[0])["thread"]["id"]
    _status, html = page(alice, f"/admin/chat/threads/{widget_thread}")
    assert "Asked in the widget" in items_html(html) and "From the widget." in items_html(html)
    native_thread = thread_id_of(send(alice, "Asked in the native view"))
    listed = chatkit(alice, {"type": "threads.list", "params": {"limit": 10, "order": "desc"}}).get_json()
    assert [thread["id"] for thread in listed["data"]] == [native_thread, widget_thread]


def test_native_pages_and_forms_need_a_signed_in_admin(chat_app):
    client = chat_app.test_client()
    response = client.get("/admin/chat/threads")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.post("/admin/chat/threads", data={"text": "hi"}).status_code in (302, 400)


def test_forms_need_the_csrf_token(alice, model):
    response = alice.client.post("/admin/chat/threads", data={"text": "no token"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert model.calls == ()


# --- sending without JavaScript -------------------------------------------------------------------------------


def test_without_javascript_the_server_answers_once_the_answer_is_done(alice, model):
    model.enqueue(answer("Two pipelines **failed**:\n\n- orders_daily\n- events_rollup"))
    response = send(alice, "Which pipelines failed?")
    assert response.status_code == 303 and response.headers["Location"].endswith("#chat-end")
    _status, html = page(alice, response.headers["Location"])
    items = items_html(html)
    assert items.index("Which pipelines failed?") < items.index("<strong>failed</strong>")
    assert "<li>orders_daily</li>" in items
    assert f'action="/admin/chat/threads/{thread_id_of(response)}/messages"' in html  # the next message goes here


def test_a_second_message_continues_the_thread_with_its_history(alice, model):
    model.extend([answer("First answer."), answer("Second answer.")])
    thread_id = thread_id_of(send(alice, "First question"))
    assert thread_id_of(send(alice, "Second question", thread_id)) == thread_id
    assert "First answer." in json.dumps(model.last_call.input)
    texts = re.findall(r'<p class="chat-text">([^<]+)</p>|<div class="chat-markdown"><p>([^<]+)</p>', page(
        alice, f"/admin/chat/threads/{thread_id}")[1])
    assert ["".join(pair) for pair in texts] == ["First question", "First answer.", "Second question", "Second answer."]


def test_an_empty_message_is_refused_in_words(alice, model):
    response = send(alice, "   ")
    assert response.status_code == 400 and "Write a message first" in response.get_data(as_text=True)
    assert model.calls == ()


def test_a_rate_limited_message_is_explained_and_stays_in_the_composer(make_chat_app, model):
    alice = signed_in(make_chat_app(CHAT_RATE_LIMIT="1 per minute"))
    model.enqueue(answer("First."))
    thread_id = thread_id_of(send(alice, "First"))
    refused = send(alice, "Please keep this text", thread_id)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many requests (1 per 1 minute)" in html
    assert re.search(r"<textarea[^>]*>Please keep this text</textarea>", html)


def test_too_many_streams_are_explained_and_the_text_is_kept(make_chat_app, model):
    alice = signed_in(make_chat_app(CHAT_MAX_STREAMS_PER_ADMIN="1"))
    release = stream_slots.take("alice", 1, 100)  # an answer streaming in another tab
    try:
        refused = send(alice, "One more question")
    finally:
        release()
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "You have 1 chat answer streaming already; wait for one to finish." in html
    assert re.search(r"<textarea[^>]*>One more question</textarea>", html) and model.calls == ()


def test_a_model_failure_is_told_in_words_and_the_answer_can_be_retried(alice, model):
    import httpx2 as httpx
    import openai

    request = httpx.Request("POST", "https://api.openai.com/v1/responses")
    model.enqueue(ModelStep.raise_error(openai.InternalServerError(
        "The server had an error", response=httpx.Response(500, request=request), body=None)))
    response = send(alice, "Which failed?")
    assert "retry=msg_" in response.headers["Location"]
    _status, html = page(alice, response.headers["Location"])
    assert "The chat model refused: The server had an error" in html
    retry = re.search(r'<form id="chat-retry" method="post"\s+action="([^"]+)">.*?name="item_id" value="([^"]+)"',
                      html, re.S)
    assert retry, "the page offers Retry"
    model.enqueue(answer("Two failed, on retry."))
    retried = form_post(alice, retry.group(1), item_id=retry.group(2))
    _status, html = page(alice, retried.headers["Location"])
    assert "Two failed, on retry." in items_html(html) and 'id="chat-retry" method="post" hidden' in html
    assert items_html(html).count("Which failed?") == 1  # the question was answered again, not asked twice


def test_voice_turns_are_marked(alice):
    response = alice.post("/api/v1/chat/voice-transcript", json={"entries": [
        {"role": "user", "text": "Spoken question", "id": "item_v1"},
        {"role": "assistant", "text": "Spoken answer", "id": "item_v2"}]})
    thread_id = response.get_json()["data"]["threadId"]
    items = items_html(page(alice, f"/admin/chat/threads/{thread_id}")[1])
    assert items.count('<span class="badge badge-voice">[voice]</span>') == 2
    assert '<p class="chat-text">Spoken question</p>' in items and "[voice] Spoken" not in items


def test_answers_that_try_cross_site_scripting_come_out_inert(alice, model):
    model.enqueue(answer(
        "<script>alert('x')</script> <img src=x onerror=alert(1)> [click](javascript:alert(2)) "
        "![pixel](https://tracker.example/p.png) <a href=\"javascript:alert(3)\">a</a>"))
    thread_id = thread_id_of(send(alice, "Say something nasty"))
    items = items_html(page(alice, f"/admin/chat/threads/{thread_id}")[1])
    assert "<script" not in items and "<img" not in items and not re.search(r"<[^>]*\bon[a-z]+=", items)
    assert not re.search(r'<a[^>]+href="(?!https:)', items) and not re.search(r"<[^>]*\bsrc=", items)
    assert '<a href="https://tracker.example/p.png" rel="noopener noreferrer">Image: pixel</a>' in items
    assert "&lt;script&gt;" in items  # shown, as text


# --- tools and approvals --------------------------------------------------------------------------------------


def test_tool_entries_say_what_ran_and_failures_in_words(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    platform.get(f"{PLATFORM}/pipelines", json=[{"name": "orders_daily", "status": "failed"}])
    model.extend([[function_call("list_failed_pipelines", "{}", call_id="call_view_1")], answer("orders_daily.")])
    thread_id = thread_id_of(send(alice, "Which failed?"))
    items = items_html(page(alice, f"/admin/chat/threads/{thread_id}")[1])
    assert re.search(r'<p class="tool-title">Ran list_failed_pipelines \(\d+ ms\)</p>', items)
    assert "orders_daily" in items[items.index("tool-output"):]  # the output, folded away under "Output"

    platform.replace(responses.GET, f"{PLATFORM}/pipelines", status=500, body="database down")
    model.extend([[function_call("list_failed_pipelines", "{}", call_id="call_view_2")], answer("It failed.")])
    send(alice, "And now?", thread_id)
    items = items_html(page(alice, f"/admin/chat/threads/{thread_id}")[1])
    failed = re.search(r'<li class="tool-task tool-failed">\s*<p class="tool-title">list_failed_pipelines failed '
                       r'\(tool_failed\): <span class="tool-error">([^<]+)</span>', items)
    assert failed and "HTTP 500" in failed.group(1)


def approval_card(alice, model, call_id):
    model.enqueue([function_call("rerun_pipeline", {"name": "nightly"}, call_id=call_id)])
    thread_id = thread_id_of(send(alice, "Rerun nightly"))
    html = page(alice, f"/admin/chat/threads/{thread_id}")[1]
    forms = re.findall(r'<form method="post" action="([^"]+)" class="card-action">(.*?)</form>', html, re.S)
    return thread_id, html, forms


def fields_of(form_html):
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form_html))


def test_an_approval_card_is_two_real_forms_carrying_the_csrf_token(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    thread_id, html, forms = approval_card(alice, model, "call_view_3")
    assert "rerun_pipeline changes the platform: approve this call?" in html
    assert '<pre><code>{\n "name": "nightly"\n}' in html  # the arguments, as the widget's card shows them
    assert [fields_of(form)["action"] for _action, form in forms] == ["tool.approve", "tool.deny"]
    for action, form in forms:
        assert action == f"/admin/chat/threads/{thread_id}/actions"
        assert fields_of(form)["csrf_token"] == csrf_token_from(html) and fields_of(form)["call_id"] == "call_view_3"
    assert len(platform.calls) == 0


def test_approve_through_the_form_resumes_the_run(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    platform.post(f"{PLATFORM}/pipelines/nightly/rerun", json={"run": 7})
    thread_id, _html, forms = approval_card(alice, model, "call_view_4")
    model.enqueue(answer("Rerun started: run 7."))
    action, approve = forms[0]
    response = alice.client.post(action, data=fields_of(approve))
    assert response.status_code == 303 and len(platform.calls) == 1
    html = page(alice, response.headers["Location"])[1]
    assert re.search(r"Approved: rerun_pipeline ran in \d+ ms\.", html) and "Rerun started: run 7." in html
    assert 'class="card-action"' not in html  # the decided card has no buttons left
    again = alice.client.post(action, data=fields_of(approve))  # an old tab: nothing runs twice
    assert again.status_code == 303 and len(platform.calls) == 1


def test_deny_through_the_form_runs_nothing(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    _thread_id, _html, forms = approval_card(alice, model, "call_view_5")
    model.enqueue(answer("OK, not rerun."))
    action, deny = forms[1]
    html = page(alice, alice.client.post(action, data=fields_of(deny)).headers["Location"])[1]
    assert "Denied: rerun_pipeline was not run." in html and len(platform.calls) == 0


def test_a_card_action_that_no_card_offers_is_refused(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    thread_id, _html, forms = approval_card(alice, model, "call_view_6")
    fields = {**fields_of(forms[0][1]), "action": "threads.delete"}
    response = alice.client.post(f"/admin/chat/threads/{thread_id}/actions", data=fields)
    assert response.status_code == 400 and "does not belong to a card" in response.get_data(as_text=True)
    assert len(platform.calls) == 0


# --- the approval card keeps chat/approval_cards.py's rules -------------------------------------------------------


def cards_of(admin, model, arguments, call_id):
    model.enqueue([function_call("rerun_pipeline", arguments, call_id=call_id)])
    thread_id = thread_id_of(send(admin, "Rerun nightly"))
    html = items_html(page(admin, f"/admin/chat/threads/{thread_id}")[1])
    return html, re.findall(r'<form method="post" action="[^"]+" class="card-action">', html)


def test_the_native_card_shows_the_path_placeholder_first_whatever_order_the_model_chose(make_chat_app, model,
                                                                                          platform):
    alice = signed_in(make_chat_app(agent=True))
    html, forms = cards_of(alice, model, {"reason": "r" * 300, "name": "nightly"}, "call_view_7")
    shown = html[html.index("<pre><code>"):]
    assert shown.index('"name": "nightly"') < shown.index('"reason"')
    assert "The arguments are cut" not in html and len(forms) == 2


def test_the_native_card_says_when_it_cuts_the_arguments(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    html, forms = cards_of(alice, model, {"reason": "r" * 3000, "name": "nightly"}, "call_view_8")
    note = re.search(r'<p class="card-text card-danger"[^>]*>(The arguments are cut: [^<]+)</p>', html)
    assert note and f"showing the first {CARD_ARGUMENT_CHARS:,} of 3,0" in note.group(1)
    assert '"name": "nightly"' in html and len(forms) == 2  # the placeholder, shown before the cut
    assert len(platform.calls) == 0


def test_the_native_view_offers_no_approval_for_arguments_over_the_limit(make_chat_app, model, platform):
    alice = signed_in(make_chat_app(agent=True))
    model.enqueue([function_call("rerun_pipeline", {"reason": "r" * MAX_APPROVAL_ARGUMENT_CHARS, "name": "nightly"},
                                 call_id="call_view_9")])
    model.enqueue(answer("I could not ask for that."))
    thread_id = thread_id_of(send(alice, "Rerun nightly"))
    html = items_html(page(alice, f"/admin/chat/threads/{thread_id}")[1])
    assert "rerun_pipeline was not offered for approval: its arguments are 8,0" in html
    assert 'class="card-action"' not in html and "I could not ask for that." in html
    assert len(platform.calls) == 0


def test_the_native_view_runs_a_tool_only_for_the_roles_it_names(make_chat_app, model, platform):
    app = make_chat_app(agent=True)
    platform.post(f"{PLATFORM}/pipelines/nightly/pause", json={"paused": True})
    model.enqueue([function_call("pause_pipeline", {"name": "nightly"}, call_id="call_view_10")])
    olga = signed_in(app, "olga")
    thread_id = thread_id_of(send(olga, "Pause nightly"))
    html = page(olga, f"/admin/chat/threads/{thread_id}")[1]
    assert "pause_pipeline changes the platform: approve this call?" in html
    action, approve = re.findall(r'<form method="post" action="([^"]+)" class="card-action">(.*?)</form>', html,
                                 re.S)[0]
    model.enqueue(answer("Paused."))
    olga.client.post(action, data=fields_of(approve))
    assert len(platform.calls) == 1 and platform.calls[0].request.url.endswith("/pipelines/nightly/pause")

    model.enqueue([function_call("pause_pipeline", {"name": "nightly"}, call_id="call_view_11")])
    alice = signed_in(app)  # no roles: the agent she talks to has no pause_pipeline
    html = page(alice, send(alice, "Pause nightly").headers["Location"])[1]
    assert "asked for a tool it does not have for you (pause_pipeline)" in html
    assert 'class="card-action"' not in html and len(platform.calls) == 1
