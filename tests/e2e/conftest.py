"""Fixtures of the browser tests: the sandbox, the app pointed at it, headless Chromium and a signed-in page."""

import pytest
from playwright.sync_api import sync_playwright

from examples.platform_api import running
from harness.browser import Sandbox, launch_chromium, open_voice_page, start_app
from harness.standin import closed_port

# The browser connects in well under a second over loopback; a short timeout keeps the ICE-failure test fast.
CONNECT_TIMEOUT_SECONDS = "3"


@pytest.fixture(scope="session")
def sandbox_server():
    server = Sandbox()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The running sandbox (`.url`, `.control(**knobs)`, `.state()`), its knobs reset for each test."""
    sandbox_server.control(reset=True)
    yield sandbox_server
    sandbox_server.control(reset=True)


@pytest.fixture(scope="session")
def _apps(sandbox_server, tmp_path_factory):
    started = {}
    yield started, sandbox_server, tmp_path_factory
    for app in started.values():
        app.stop()


@pytest.fixture
def live_app(_apps, sandbox):
    """live_app(connect="ephemeral"|"relay") -> the app's base URL; one server per mode for the whole run."""
    started, sandbox_server, tmp_path_factory = _apps

    def serve(connect="ephemeral"):
        if connect not in started:
            started[connect] = start_app(
                tmp_path_factory.mktemp(f"app-{connect}"),
                sandbox_server.url,
                OPENAI_REALTIME_CONNECT=connect,
                VOICE_CONNECT_TIMEOUT_SECONDS=CONNECT_TIMEOUT_SECONDS,
            )
        return started[connect].url

    yield serve
    for app in started.values():
        app.wait_until_idle()


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread while it is
# open, and later tests (the sandbox's, nginx's) call asyncio.run() or start Playwright themselves.
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, tmp_path_factory.mktemp("chromium"))
        yield chromium
        chromium.close()


class OpenedPages:
    """The signed-in pages a test opens (15 s timeouts); `close()` closes them at the test's end."""

    def __init__(self, browser):
        self.browser, self.contexts = browser, []

    def open(self, app_url, **options):
        page = open_voice_page(self.browser, app_url, **options)
        page.set_default_timeout(15_000)
        self.contexts.append(page.context)
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def signed_in_page(browser, live_app):
    """signed_in_page(connect="ephemeral", microphone=True) -> a Playwright page on /admin/voice."""
    pages = OpenedPages(browser)
    yield lambda connect="ephemeral", microphone=True: pages.open(live_app(connect), microphone=microphone)
    pages.close()


# The example platform's token: it must never reach the browser.
PLATFORM_TOKEN = "platform-e2e-token-5f3a9c71"
AGENT_TOML = """
instructions = "You help the admins of the DataAPI platform. Use the tools rather than guess."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed, optionally only those that finished since a given time."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string", description = "ISO 8601 time" } }, required = [] }

[[tools]]
name = "rerun_pipeline"
description = "Starts a new run of a pipeline. Changes the platform: the admin approves each call."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" }, reason = { type = "string" } }, required = ["name"] }

[[tools]]
name = "check_backups"
description = "Whether the warehouse backups are current."
url = "http://127.0.0.1:${CLOSED_PORT}/backups"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
timeout_seconds = 3

[[tools]]
name = "get_run"
description = "One pipeline run by id (e.g. r-1001), with its error if it failed."
url = "${PLATFORM_URL}/runs/{run_id}"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { run_id = { type = "string" } }, required = ["run_id"] }
"""


@pytest.fixture(scope="session")
def platform():
    """The example platform API (examples/platform_api.py) in-process: its base URL."""
    with running(PLATFORM_TOKEN) as url:
        yield url


@pytest.fixture(scope="session")
def _agent_apps(sandbox_server, platform, tmp_path_factory):
    started = {}
    yield started, sandbox_server, platform, tmp_path_factory
    for app in started.values():
        app.stop()


@pytest.fixture
def agent_page(browser, _agent_apps, sandbox):
    """agent_page(connect="ephemeral"|"relay") -> a signed-in page on /admin/voice of an app whose AGENT_FILE's
    tools call the example platform (one app per mode for the whole run)."""
    started, sandbox_server, platform_url, tmp_path_factory = _agent_apps
    pages = OpenedPages(browser)

    def open_page(connect="ephemeral"):
        if connect not in started:
            workdir = tmp_path_factory.mktemp(f"app-agent-{connect}")
            agent_file = workdir / "agent.toml"
            agent_file.write_text(AGENT_TOML)
            started[connect] = start_app(
                workdir, sandbox_server.url, AGENT_FILE=str(agent_file), PLATFORM_URL=platform_url,
                PLATFORM_TOKEN=PLATFORM_TOKEN, CLOSED_PORT=str(closed_port()), OPENAI_REALTIME_CONNECT=connect,
                VOICE_CONNECT_TIMEOUT_SECONDS=CONNECT_TIMEOUT_SECONDS,
            )
        return pages.open(started[connect].url)

    yield open_page
    pages.close()
    for app in started.values():
        app.wait_until_idle()  # as live_app does: what the closed pages left running must not reach the next test
