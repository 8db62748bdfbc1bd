"""The native chat view in headless Chromium with OpenAI's CDN unreachable (every request that leaves 127.0.0.1 is
refused, as it is on the test machines): a new thread, an answer streaming in, a tool entry, an approval through
the form, Stop, a broken stream and Retry, errors in words, the page without JavaScript, answers that try
cross-site scripting, the switch from the widget in CHAT_UI=auto, and axe-core on every page of the console.
The agent is the Agents SDK's scripted model (or the sandbox's Responses API, for the offline run with tools)."""

import asyncio
import itertools
import re
import threading
import time
from pathlib import Path

import pytest
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.testing.model import _stream_events_for_step
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app import create_app
from chat.streams import stream_slots
from core.admins import add_admin
from core.clock import FixedClock
from examples.platform_api import running
from harness.browser import open_voice_page, start_app
from tests.support import TODAY

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ADMIN, PASSWORD = "native-e2e", "native-e2e-password"
PLATFORM_TOKEN = "native-e2e-platform-token"
AGENT = """
instructions = "You help the admins of the platform."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed, optionally only those that finished since a given time."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }

[[tools]]
name = "rerun_pipeline"
description = "Starts a new run of a pipeline. Changes the platform: the admin approves each call."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
confirm = true
"""
OFF_MACHINE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
_ids = itertools.count()


def answer(text):
    return [assistant_message(text, item_id=f"msg_native_{next(_ids)}")]


def streamed_answer(text, word_delay=0.12, stall_after=None):
    """A scripted answer streamed word by word; with `stall_after` words it then waits until it is cancelled."""
    events = _stream_events_for_step(ModelStep(output=answer(text)), preserve_raw_usage=False)

    async def stream(_call):
        for event in events:
            if event.type != "response.output_text.delta":
                yield event
                continue
            words = event.delta.split(" ")
            for index, word in enumerate(words):
                if stall_after is not None and index == stall_after:
                    await asyncio.Event().wait()
                yield event.model_copy(update={"delta": word + (" " if index < len(words) - 1 else "")})
                await asyncio.sleep(word_delay)

    return ModelStep.stream(stream)


class NativeChatApp:
    """The app on 127.0.0.1 (a free port) in a werkzeug server thread, with a scripted chat model and the agent file's
    tools calling the example platform."""

    def __init__(self, workdir, platform_url, **environ):
        admins = workdir / "admins.txt"
        add_admin(str(admins), ADMIN, PASSWORD)
        (workdir / "agent.toml").write_text(AGENT)
        env = {
            "SECRET_KEY": "native-e2e-secret", "FORCE_HTTPS": "0", "OPENAI_API_KEY": "sk-sandbox",
            "ADMIN_USERS_FILE": str(admins), "DATABASE_URL": f"sqlite:///{workdir / 'console.db'}",
            "LOGIN_RATE_LIMIT": "1000 per minute", "MINT_RATE_LIMIT": "1000 per minute", "CHAT_UI": "native",
            "AGENT_FILE": str(workdir / "agent.toml"), "PLATFORM_URL": platform_url, "PLATFORM_TOKEN": PLATFORM_TOKEN,
            **environ,
        }
        self.model = ScriptedModel()
        self.app = create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "CHATKIT_AGENT_MODEL": self.model})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="native-e2e-app", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stored_items(self, thread_id):
        from core.admins import find_admin

        admin_id = find_admin(self.app.config["SETTINGS"].auth.admin_users_file, ADMIN).admin_id
        store = self.app.extensions["chat"].server().store
        return store.load_thread_items_sync(thread_id, None, 100, "asc", admin_id).data

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def platform_url():
    with running(PLATFORM_TOKEN) as url:
        yield url


@pytest.fixture
def chat_app(tmp_path, platform_url):
    """chat_app(VAR=value, ...) -> a running NativeChatApp (CHAT_UI=native unless given)."""
    started = []

    def serve(**environ):
        workdir = tmp_path / f"app{len(started)}"
        workdir.mkdir()
        started.append(NativeChatApp(workdir, platform_url, **environ))
        return started[-1]

    yield serve
    for app in started:
        app.stop()


class Pages:
    """Signed-in pages with OpenAI (and everything else off this machine) unreachable; `left_the_machine` lists
    what they tried to fetch from elsewhere."""

    def __init__(self, browser):
        self.browser, self.contexts, self.left_the_machine = browser, [], []

    def open(self, app, path="/admin/chat", **context_options):
        context = self.browser.new_context(base_url=app.url, viewport={"width": 1100, "height": 900}, **context_options)
        self.contexts.append(context)

        def refuse(route):
            self.left_the_machine.append(route.request.url)
            route.abort()

        context.route(OFF_MACHINE, refuse)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"/login?next={path}")
        page.fill("#username", ADMIN)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser):
    opened = Pages(browser)
    yield opened
    opened.close()


def idle(page):
    expect(page.locator("#chat-native")).to_have_attribute("data-state", "idle", timeout=15_000)


def send(page, text):
    page.fill("#chat-text", text)
    page.press("#chat-text", "Enter")


def wait_for(condition, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def thread_id_in(url):
    return re.search(r"/admin/chat/threads/(thr_[A-Za-z0-9]+)", url).group(1)


# --- a conversation ------------------------------------------------------------------------------------------


def test_a_new_thread_streams_its_answer_and_a_reload_keeps_the_thread(chat_app, pages):
    app = chat_app()
    app.model.enqueue(streamed_answer("Two pipelines **failed** last night: orders_daily and events_rollup."))
    page = pages.open(app)
    expect(page.locator("#thread-title")).to_have_text("New thread")
    send(page, "Which pipelines failed last night?")
    # The answer arrives a word at a time, as plain text in the live region, while Stop is offered.
    live = page.locator("#chat-live")
    expect(live).to_contain_text("Two pipelines")
    expect(page.locator("#chat-stop")).to_be_visible()
    assert "events_rollup" not in live.inner_text()
    assert live.get_attribute("aria-live") == "polite"
    # Once done, the server's rendering replaces it: markdown, in the thread, under the thread's new name.
    idle(page)
    items = page.locator("#chat-items")
    expect(items.locator(".chat-assistant strong")).to_have_text("failed")
    expect(items.locator(".chat-user .chat-text")).to_have_text("Which pipelines failed last night?")
    expect(page.locator("#chat-stop")).to_be_hidden()
    expect(page.locator("#chat-text")).to_have_value("")
    expect(page.locator("#chat-text")).to_be_focused()
    thread_id = thread_id_in(page.url)
    expect(page.locator("#thread-title")).to_have_text("Which pipelines failed last night?")
    expect(page.locator("#thread-rows a[aria-current=page]")).to_have_text("Which pipelines failed last night?")

    page.reload()
    assert thread_id_in(page.url) == thread_id
    expect(page.locator("#chat-items .chat-item")).to_have_count(2)
    expect(page.locator("#chat-items .chat-assistant")).to_contain_text("orders_daily and events_rollup")
    assert pages.left_the_machine == []  # CHAT_UI=native: nothing from OpenAI, nor from anywhere else


def test_a_tool_entry_shows_what_ran(chat_app, pages):
    app = chat_app()
    app.model.extend([[function_call("list_failed_pipelines", "{}", call_id="call_native_1")],
                      answer("orders_daily and events_rollup failed.")])
    page = pages.open(app)
    send(page, "Which pipelines failed?")
    idle(page)
    entry = page.locator("#chat-items .chat-tools .tool-title")
    expect(entry).to_have_text(re.compile(r"^Ran list_failed_pipelines \(\d+ ms\)$"))
    page.locator("#chat-items .chat-tools summary").click()
    expect(page.locator("#chat-items .tool-output")).to_contain_text("orders_daily")
    assert "orders_daily" in str(app.model.last_call.input)


def test_an_approval_through_the_form_resumes_the_run(chat_app, pages):
    app = chat_app()
    app.model.enqueue([function_call("rerun_pipeline", {"name": "orders_daily"}, call_id="call_native_2")])
    page = pages.open(app)
    send(page, "Rerun orders_daily")
    idle(page)
    card = page.locator("#chat-items .approval-card")
    expect(card).to_contain_text("rerun_pipeline changes the platform: approve this call?")
    expect(card.locator("pre")).to_contain_text('"name": "orders_daily"')
    app.model.enqueue(answer("Rerun started."))
    card.get_by_role("button", name="Approve").click()
    idle(page)
    decided = page.locator("#chat-items .approval-card")
    expect(decided).to_have_text(re.compile(r"Approved: rerun_pipeline ran in \d+ ms\."))
    expect(page.locator("#chat-items .chat-assistant").last).to_have_text(re.compile("Rerun started."))
    assert "r-1005" in str(app.model.last_call.input)  # the platform started the run, and the model was told


def test_stop_cancels_the_answer_and_keeps_what_had_arrived(chat_app, pages):
    app = chat_app()
    app.model.enqueue(streamed_answer("Half an answer and then a great deal more.", stall_after=3))
    page = pages.open(app)
    send(page, "Tell me everything")
    expect(page.locator("#chat-live")).to_contain_text("Half an answer")
    page.click("#chat-stop")
    idle(page)
    expect(page.locator("#chat-status")).to_have_text("Stopped: what had arrived is kept in the thread.")
    expect(page.locator("#chat-send")).to_be_enabled()
    # The model was paused when Stop came: the server still learns at once and ends the run.
    thread_id = thread_id_in(page.url)
    wait_for(lambda: app.stored_items(thread_id)[-1].type == "sdk_hidden_context", what="the cancellation")
    assert [item.type for item in app.stored_items(thread_id)] == ["user_message", "assistant_message",
                                                                    "sdk_hidden_context"]
    assert app.stored_items(thread_id)[1].content[0].text.strip() == "Half an answer"
    page.reload()
    expect(page.locator("#chat-items .chat-assistant .chat-markdown")).to_have_text("Half an answer")


def test_a_broken_stream_is_explained_and_retried(chat_app, pages):
    app = chat_app()
    app.model.extend([answer("The first answer, cut off on its way."), answer("The answer, asked again.")])
    page = pages.open(app)

    def cut_short(route):
        # The answer reaches the page without its end, as when the connection breaks mid-answer.
        body = route.fetch().text()
        answer_done = body.index('"thread.item.done"', body.index("assistant_message"))
        route.fulfill(status=200, content_type="text/event-stream", body=body[:answer_done])

    page.route("**/chatkit", cut_short, times=1)
    send(page, "What happened?")
    idle(page)
    expect(page.locator("#chat-error")).to_have_text(
        "The answer stopped arriving before it was complete (the connection broke).")
    page.get_by_role("button", name="Retry the answer").click()
    idle(page)
    expect(page.locator("#chat-error")).to_be_hidden()
    expect(page.locator("#chat-items .chat-assistant")).to_have_text([re.compile("The answer, asked again.")])
    expect(page.locator("#chat-items .chat-user")).to_have_count(1)


def test_refusals_are_told_in_words_and_the_composer_keeps_the_text(chat_app, pages):
    app = chat_app()
    page = pages.open(app)
    releases = [stream_slots.take(ADMIN, 3, 32) for _ in range(3)]  # three answers streaming in other tabs
    try:
        send(page, "Please keep this question")
        expect(page.locator("#chat-error")).to_have_text(
            "Too many answers at once: You have 3 chat answers streaming already; wait for one to finish.")
    finally:
        for release in releases:
            release()
    expect(page.locator("#chat-text")).to_have_value("Please keep this question")
    expect(page.locator("#chat-retry")).to_be_hidden()  # nothing was stored: send it again
    app.model.enqueue(answer("Now it works."))
    page.click("#chat-send")
    idle(page)
    expect(page.locator("#chat-error")).to_be_hidden()
    expect(page.locator("#chat-text")).to_have_value("")


def test_a_rate_limit_is_told_in_words(chat_app, pages):
    app = chat_app(CHAT_RATE_LIMIT="1 per minute")
    app.model.enqueue(answer("First."))
    page = pages.open(app)
    send(page, "First")
    idle(page)
    send(page, "Second, kept")
    expect(page.locator("#chat-error")).to_contain_text(
        "You are sending chat messages faster than this server allows: Too many requests (1 per 1 minute).")
    expect(page.locator("#chat-text")).to_have_value("Second, kept")


def test_a_model_failure_is_told_in_words_and_retried(chat_app, pages):
    import httpx2 as httpx
    import openai

    app = chat_app()
    request = httpx.Request("POST", "https://api.openai.com/v1/responses")
    app.model.extend([
        ModelStep.raise_error(openai.InternalServerError("The server had an error while processing your request",
                                                         response=httpx.Response(500, request=request), body=None)),
        answer("Answered on the second try."),
    ])
    page = pages.open(app)
    send(page, "Which failed?")
    idle(page)
    expect(page.locator("#chat-error")).to_contain_text(
        "The chat model refused: The server had an error while processing your request")
    page.get_by_role("button", name="Retry the answer").click()
    idle(page)
    expect(page.locator("#chat-items .chat-assistant")).to_have_text([re.compile("Answered on the second try.")])


def test_voice_turns_written_by_the_voice_page_show_without_a_reload(chat_app, pages):
    app = chat_app()
    app.model.enqueue(answer("Typed answer."))
    page = pages.open(app)
    send(page, "Typed question")
    idle(page)
    # What the voice page does with its transcript (chat-transcript.js), from another tab.
    other = page.context.new_page()
    other.goto("/admin/voice")
    other.evaluate("""async () => {
      const { sendVoiceTranscript } = await import("/static/js/chat-transcript.js");
      await sendVoiceTranscript([{role: "user", text: "Spoken question", id: "item_n1"}]);
    }""")
    expect(page.locator("#chat-items .chat-user").last).to_contain_text("[voice]")
    expect(page.locator("#chat-items .chat-user .chat-text").last).to_have_text("Spoken question")


# --- without JavaScript, and answers that try cross-site scripting --------------------------------------------


def test_without_javascript_the_form_posts_and_the_page_shows_the_answer(chat_app, pages):
    app = chat_app(CHAT_UI="auto")
    app.model.extend([answer("Two pipelines **failed**."),
                      [function_call("rerun_pipeline", {"name": "orders_daily"}, call_id="call_native_3")],
                      answer("Rerun started.")])
    page = pages.open(app, java_script_enabled=False)
    # CHAT_UI=auto: the widget needs JavaScript, so the page goes to the native view at once.
    expect(page).to_have_url(re.compile(r"/admin/chat/threads$"))
    page.fill("#chat-text", "Which failed?")
    page.click("#chat-send")
    expect(page.locator("#chat-items .chat-assistant strong")).to_have_text("failed")
    expect(page).to_have_url(re.compile(r"/admin/chat/threads/thr_\w+#chat-end$"))
    page.fill("#chat-text", "Rerun orders_daily")
    page.click("#chat-send")
    page.locator("#chat-items .approval-card").get_by_role("button", name="Approve").click()
    expect(page.locator("#chat-items .approval-card")).to_have_text(re.compile(r"Approved: rerun_pipeline ran in"))
    expect(page.locator("#chat-items .chat-assistant").last).to_have_text(re.compile("Rerun started."))
    page.locator(".thread-rename summary").click()
    page.fill("#thread-new-title", "Nightly failures")
    page.get_by_role("button", name="Save the name").click()
    expect(page.locator("#thread-title")).to_have_text("Nightly failures")
    page.locator(".thread-delete summary").click()
    page.get_by_role("button", name="Delete this thread").click()
    expect(page.locator(".flash-ok")).to_have_text("Deleted the thread and everything in it.")
    expect(page.locator("#thread-rows")).to_have_text(re.compile("No threads yet."))


XSS_ANSWER = (
    "<script>window.__pwned = 'script'</script>\n\n"
    "<img src=x onerror=\"window.__pwned = 'onerror'\">\n\n"
    "[click me](javascript:window.__pwned='link')\n\n"
    "![tracking pixel](https://tracker.example/pixel.png?who=admin)\n\n"
    "<a href=\"javascript:window.__pwned='html-link'\" onmouseover=\"window.__pwned='hover'\">hover me</a>"
)


def test_answers_that_try_cross_site_scripting_come_out_inert(chat_app, pages):
    app = chat_app()
    app.model.enqueue(streamed_answer(XSS_ANSWER, word_delay=0.01))
    page = pages.open(app)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    send(page, "Say something nasty")
    idle(page)
    items = page.locator("#chat-items")
    expect(items.locator(".chat-assistant")).to_contain_text("<script>window.__pwned")  # shown as text
    assert items.locator("script, img, iframe, [onerror], [onmouseover], [style]").count() == 0
    hrefs = items.locator("a").evaluate_all("links => links.map((link) => link.getAttribute('href'))")
    assert all(href is None or href.startswith("https://") for href in hrefs), hrefs
    expect(items.get_by_role("link", name="Image: tracking pixel")).to_have_attribute("rel", "noopener noreferrer")
    items.get_by_text("hover me").hover()
    items.get_by_text("click me").click()
    assert page.evaluate("window.__pwned") is None and dialogs == []
    assert not [url for url in pages.left_the_machine if "tracker.example" in url]  # the image was never loaded


# --- which view ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cdn", ["unreachable", "hanging"])
def test_auto_switches_to_the_native_view_with_the_same_thread_open(chat_app, pages, cdn):
    app = chat_app(CHAT_UI="auto")
    app.model.enqueue(answer("Kept for later."))
    page = pages.open(app, "/admin/chat/threads/new")
    send(page, "A question asked earlier")
    idle(page)
    thread_id = thread_id_in(page.url)
    if cdn == "hanging":  # a proxy that holds the connection open: the page waits a few seconds, not forever
        page.context.route(re.compile(r"^https://cdn\.platform\.openai\.com/"), lambda route: None)
    started = time.monotonic()
    page.goto("/admin/chat")
    expect(page).to_have_url(re.compile(rf"/admin/chat/threads/{thread_id}$"), timeout=10_000)
    waited = time.monotonic() - started
    expect(page.locator("#chat-items .chat-assistant")).to_contain_text("Kept for later.")
    if cdn == "hanging":
        assert waited > 3.5
    else:  # refused at once: no need to wait
        assert waited < 3.5 and any("cdn.platform.openai.com" in url for url in pages.left_the_machine)


def test_the_offline_sandbox_answers_in_the_native_view_tools_included(sandbox, platform_url, pages, tmp_path):
    """`make run` without a key: the sandbox's Responses API answers, and the agent file's tools run."""
    (tmp_path / "agent.toml").write_text(AGENT)
    add_admin(str(tmp_path / "admins.txt"), ADMIN, PASSWORD)
    app = start_app(tmp_path, sandbox.url, CHAT_UI="native", AGENT_FILE=str(tmp_path / "agent.toml"),
                    PLATFORM_URL=platform_url, PLATFORM_TOKEN=PLATFORM_TOKEN)
    try:
        page = pages.open(app)
        send(page, "Which pipelines failed last night?")
        idle(page)
        expect(page.locator("#chat-items .tool-title")).to_have_text(
            re.compile(r"^Ran list_failed_pipelines \(\d+ ms\)$"))
        expect(page.locator("#chat-items .chat-assistant")).to_contain_text(
            "Here is what list_failed_pipelines returned")
        # (events_rollup: another test here reruns orders_daily, which then no longer counts as failed)
        expect(page.locator("#chat-items .chat-assistant")).to_contain_text("events_rollup")
        assert pages.left_the_machine == []
    finally:
        app.wait_until_idle()
        app.stop()


# --- accessibility ---------------------------------------------------------------------------------------------


def serious_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]][:5])
            for violation in result["violations"] if violation["impact"] in ("serious", "critical")]


def fill_a_thread(app, page):
    """A thread with a tool entry, a failed tool, an agent's markdown, a voice turn and a waiting approval card."""
    app.model.extend([[function_call("list_failed_pipelines", "{}", call_id="call_axe_1")],
                      answer("Two **failed**:\n\n- orders_daily\n- events_rollup\n\n[Runbook](https://run.example/)"),
                      [function_call("rerun_pipeline", {"name": "orders_daily"}, call_id="call_axe_2")]])
    send(page, "Which pipelines failed?")
    idle(page)
    send(page, "Rerun orders_daily")
    idle(page)
    page.evaluate("""async () => {
      const { sendVoiceTranscript } = await import("/static/js/chat-transcript.js");
      await sendVoiceTranscript([{role: "user", text: "Spoken question", id: "item_axe"}]);
    }""")
    page.reload()
    expect(page.locator("#chat-items .approval-card button")).to_have_count(2)


@pytest.mark.parametrize("view", ["login", "voice", "chat-native", "chat-native-new", "chat-widget", "activity"])
def test_axe_finds_no_serious_or_critical_violation(chat_app, pages, view):
    app = chat_app(CHAT_UI="chatkit" if view == "chat-widget" else "native")
    if view == "login":
        context = pages.browser.new_context(base_url=app.url, bypass_csp=True)
        pages.contexts.append(context)
        page = context.new_page()
        page.goto("/login")
    else:
        page = pages.open(app, "/admin/voice", bypass_csp=True)  # axe arrives as an inline script
        if view == "chat-native":
            page.goto("/admin/chat/threads/new")
            fill_a_thread(app, page)
        elif view == "chat-native-new":
            page.goto("/admin/chat/threads/new")
        elif view == "chat-widget":
            page.goto("/admin/chat")
            expect(page.locator("#chat-error")).to_contain_text("could not be loaded")
        elif view == "activity":
            page.goto("/admin/activity")
    assert serious_violations(page) == []


def test_axe_finds_no_serious_or_critical_violation_on_the_voice_page_during_a_call(browser, live_app, sandbox):
    page = open_voice_page(browser, live_app(), bypass_csp=True)
    try:
        page.set_default_timeout(15_000)
        page.click("#voice-start")
        expect(page.locator("#voice-state")).to_have_text("Connected")
        expect(page.locator("#voice-transcript")).not_to_be_empty()
        assert serious_violations(page) == []
        page.click("#voice-hangup")
    finally:
        page.context.close()


def test_the_native_view_works_from_the_keyboard_in_a_sensible_order(chat_app, pages):
    app = chat_app()
    app.model.enqueue(answer("Answered."))
    page = pages.open(app, "/admin/chat/threads/new")
    page.locator("#chat-text").focus()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    idle(page)
    expect(page.locator("#chat-items .chat-assistant")).to_contain_text("Answered.")
    # Tab order: the thread list, the thread's actions, then the composer and its button.
    page.locator(".thread-list .button-link").focus()
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert order[:5] == ["Typed without a mouse", "Rename", "Delete…", "chat-text", "chat-send"], order
    fields = "#chat-native textarea, #chat-native input:not([type=hidden])"
    labels = page.evaluate(f"[...document.querySelectorAll('{fields}')].map((field) => field.labels.length)")
    assert all(labels), labels
