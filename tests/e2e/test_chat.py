"""The chat page in headless Chromium, with OpenAI's ChatKit script replaced by a small stand-in (Playwright
routing) that drives the same options the real widget uses: api.url/domainKey/fetch in self-hosted mode and
api.getClientSecret in hosted mode. The self-hosted agent is the Agents SDK's scripted model: no network."""

import itertools
import os
import re
import threading
from pathlib import Path

import pytest
from agents.testing import ScriptedModel, assistant_message
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app import create_app
from core.admins import add_admin
from core.clock import FixedClock
from core.openai_catalog import AGENT_BUILDER_SHUTDOWN, DEFAULT_CHATKIT_SCRIPT_URL
from tests.support import TODAY, day_before

ADMIN, PASSWORD = "chat-e2e", "chat-e2e-password"
DOCS = Path(__file__).resolve().parents[2] / "docs"

# Just enough of <openai-chatkit> to exercise what admin-chat.js hands it. Messages render in the light DOM so
# the test can read them; every request goes through the page's api.fetch (CSRF header, session cookie).
STAND_IN = r"""
class ChatKitStandIn extends HTMLElement {
  setOptions(options) { this.options = options; this.start(); }
  async start() {
    const api = this.options.api;
    this.innerHTML = '<p class="stand-in-note">ChatKit stand-in</p><ol class="messages"></ol>' +
      '<form><input name="text" aria-label="Message"><button type="submit">Send</button></form><p class="secret"></p>';
    this.list = this.querySelector("ol");
    this.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = this.querySelector("input");
      this.send(input.value);
      input.value = "";
    });
    if (api.getClientSecret) {
      this.secrets = [];
      await this.refreshSecret(null);
      return;
    }
    this.dataset.domainKey = api.domainKey;
    this.threadId = this.options.initialThread || null;
    if (this.threadId) await this.fetchUpdates();
  }
  async refreshSecret(current) {
    try {
      const secret = await this.options.api.getClientSecret(current);
      this.secrets.push(secret);
      this.querySelector(".secret").textContent = `secrets: ${this.secrets.length}`;
      this.dataset.secret = secret;
    } catch (error) {
      this.querySelector(".secret").textContent = "no secret";
    }
  }
  call(body) {
    return this.options.api.fetch(this.options.api.url, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  }
  render(item) {
    if (!item.type.endsWith("_message")) return;
    const li = document.createElement("li");
    li.className = item.type;
    li.textContent = item.content.map((part) => part.text).join("");
    this.list.append(li);
  }
  async send(text) {
    const input = { content: [{ type: "input_text", text }], attachments: [], inference_options: {} };
    const body = this.threadId
      ? { type: "threads.add_user_message", params: { thread_id: this.threadId, input } }
      : { type: "threads.create", params: { input } };
    const response = await this.call(body);
    if (!response.ok) {
      const error = await response.json();
      this.dispatchEvent(new CustomEvent("chatkit.error", { detail: { error: new Error(error.message) } }));
      return;
    }
    for (const line of (await response.text()).split("\n")) {
      if (!line.startsWith("data: ")) continue;
      const event = JSON.parse(line.slice(6));
      if (event.type === "thread.created") {
        this.threadId = event.thread.id;
        this.dispatchEvent(new CustomEvent("chatkit.thread.change", { detail: { threadId: this.threadId } }));
      }
      if (event.type === "thread.item.done") this.render(event.item);
    }
  }
  async fetchUpdates() {
    const response = await this.call({ type: "items.list", params: { thread_id: this.threadId, order: "asc", limit: 100 } });
    const page = await response.json();
    this.list.replaceChildren();
    page.data.forEach((item) => this.render(item));
  }
  async setThreadId(threadId) { this.threadId = threadId; await this.fetchUpdates(); }
}
customElements.define("openai-chatkit", ChatKitStandIn);
"""

_answer_ids = itertools.count()


def answer(text):
    return [assistant_message(text, item_id=f"msg_e2e_{next(_answer_ids)}")]


class ChatApp:
    """The app on 127.0.0.1 (a free port) in a werkzeug server thread, with a scripted chat model."""

    def __init__(self, workdir, today=TODAY, **environ):
        admins = workdir / "admins.txt"
        add_admin(str(admins), ADMIN, PASSWORD)
        env = {
            "SECRET_KEY": "chat-e2e-secret",
            "FORCE_HTTPS": "0",
            "OPENAI_API_KEY": "sk-sandbox",
            "ADMIN_USERS_FILE": str(admins),
            "DATABASE_URL": f"sqlite:///{workdir / 'console.db'}",
            "MINT_RATE_LIMIT": "1000 per minute",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            **environ,
        }
        self.model = ScriptedModel()
        app = create_app({"CLOCK": FixedClock(today), "ENVIRON": env, "CHATKIT_AGENT_MODEL": self.model})
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="chat-e2e-app", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def chat_app(tmp_path):
    """chat_app(VAR=value, ..., today=...) -> a running ChatApp (self-hosted unless CHATKIT_AGENT_ID is given),
    standing on `today` (TODAY by default)."""
    started = []

    def serve(**environ):
        workdir = tmp_path / f"app{len(started)}"
        workdir.mkdir()
        started.append(ChatApp(workdir, **environ))
        return started[-1]

    yield serve
    for app in started:
        app.stop()


@pytest.fixture
def open_chat(browser):
    contexts = []

    def open_page(app, script=STAND_IN):
        context = browser.new_context(base_url=app.url, viewport={"width": 1100, "height": 760})
        contexts.append(context)
        # The real script comes from OpenAI's CDN; the runner has no network, and the test needs a known widget.
        if script is None:
            context.route(DEFAULT_CHATKIT_SCRIPT_URL, lambda route: route.abort())
        else:
            context.route(
                DEFAULT_CHATKIT_SCRIPT_URL,
                lambda route: route.fulfill(status=200, content_type="text/javascript", body=script),
            )
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/login?next=/admin/chat")
        page.fill("#username", ADMIN)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/chat")
        return page

    yield open_page
    for context in contexts:
        context.close()


def messages(page):
    return page.locator("openai-chatkit li")


def test_self_hosted_chat_sends_through_the_chatkit_endpoint_and_keeps_the_thread(chat_app, open_chat):
    app = chat_app()
    app.model.extend([answer("Two pipelines failed tonight."), answer("Both are retried.")])
    page = open_chat(app)
    expect(page.locator("openai-chatkit")).to_have_attribute("data-domain-key", "domain_pk_localhost_dev")
    page.fill("openai-chatkit input", "What failed tonight?")
    page.click("openai-chatkit button")
    expect(messages(page)).to_have_text(["What failed tonight?", "Two pipelines failed tonight."])
    page.fill("openai-chatkit input", "And now?")
    page.click("openai-chatkit button")
    expect(messages(page)).to_have_count(4)
    # A reload opens the same thread (the admin's current one), read back through the store.
    page.reload()
    expect(messages(page)).to_have_text(
        ["What failed tonight?", "Two pipelines failed tonight.", "And now?", "Both are retried."]
    )
    expect(page.locator("#chat-error")).to_be_hidden()


def test_voice_transcripts_appear_in_the_open_chat(chat_app, open_chat):
    app = chat_app()
    app.model.enqueue(answer("Typed answer."))
    page = open_chat(app)
    page.fill("openai-chatkit input", "Typed question")
    page.click("openai-chatkit button")
    expect(messages(page)).to_have_count(2)
    # What the voice page does when a session ends, through the module it imports.
    thread_id = page.evaluate(
        """async () => {
          const { sendVoiceTranscript } = await import("/static/js/chat-transcript.js");
          const saved = await sendVoiceTranscript([{role: "user", text: "Spoken question", id: "item_1"},
                                                   {role: "assistant", text: "Spoken answer", id: "item_2"}]);
          return saved.threadId;
        }"""
    )
    assert re.match(r"^thr_", thread_id)
    expect(messages(page)).to_have_text(["Typed question", "Typed answer.", "[voice] Spoken question", "[voice] Spoken answer"])
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / "chat.png"), full_page=True)


def test_hosted_chat_gets_a_secret_and_a_fresh_one_on_refresh(chat_app, open_chat, sandbox):
    # The day before Agent Builder's shutdown, the last day hosted chat worked: the page warns of the day.
    app = chat_app(CHATKIT_AGENT_ID="wf_e2e_workflow", OPENAI_BASE_URL=sandbox.url, today=day_before(AGENT_BUILDER_SHUTDOWN))
    page = open_chat(app)
    chatkit = page.locator("openai-chatkit")
    expect(chatkit.locator(".secret")).to_have_text("secrets: 1")
    first = chatkit.get_attribute("data-secret")
    page.evaluate("document.querySelector('openai-chatkit').refreshSecret(document.querySelector('openai-chatkit').dataset.secret)")
    expect(chatkit.locator(".secret")).to_have_text("secrets: 2")
    assert chatkit.get_attribute("data-secret") != first
    expect(page.locator(".notice-warn")).to_contain_text(f"shuts down on {AGENT_BUILDER_SHUTDOWN}")


def test_after_the_shutdown_hosted_chat_says_it_no_longer_works(chat_app, open_chat, sandbox):
    app = chat_app(CHATKIT_AGENT_ID="wf_e2e_workflow", OPENAI_BASE_URL=sandbox.url, today=AGENT_BUILDER_SHUTDOWN)
    page = open_chat(app)
    expect(page.locator("p.notice-error")).to_contain_text(f"shut down on {AGENT_BUILDER_SHUTDOWN}")
    expect(page.locator(".notice-warn")).to_have_count(0)


def test_hosted_chat_explains_a_missing_workflow(chat_app, open_chat, sandbox):
    app = chat_app(CHATKIT_AGENT_ID="wf_missing", OPENAI_BASE_URL=sandbox.url)
    page = open_chat(app)
    error = page.locator("#chat-error")
    expect(error).to_contain_text("Workflow with id 'wf_missing' not found")
    expect(error).to_contain_text("same OpenAI project")
    expect(error).to_contain_text("2026-11-30")


def test_a_widget_script_that_cannot_load_is_explained(chat_app, open_chat):
    # CHAT_UI=chatkit: the widget or nothing (auto would switch to the native view: tests/e2e/test_chat_native.py).
    page = open_chat(chat_app(CHAT_UI="chatkit"), script=None)
    expect(page.locator("#chat-error")).to_contain_text("could not be loaded from " + DEFAULT_CHATKIT_SCRIPT_URL)
