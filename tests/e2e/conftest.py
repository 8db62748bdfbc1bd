"""Fixtures of the browser tests: the sandbox, the app pointed at it, headless Chromium and a signed-in page."""

import pytest
from playwright.sync_api import sync_playwright

from harness.browser import Sandbox, launch_chromium, open_voice_page, start_app

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

    return serve


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread while it is
# open, and later tests (the sandbox's, nginx's) call asyncio.run() or start Playwright themselves.
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, tmp_path_factory.mktemp("chromium"))
        yield chromium
        chromium.close()


@pytest.fixture
def signed_in_page(browser, live_app):
    """signed_in_page(connect="ephemeral", microphone=True) -> a Playwright page on /admin/voice."""
    contexts = []

    def open_page(connect="ephemeral", microphone=True):
        page = open_voice_page(browser, live_app(connect), microphone=microphone)
        page.set_default_timeout(15_000)
        contexts.append(page.context)
        return page

    yield open_page
    for context in contexts:
        context.close()
