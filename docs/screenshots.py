"""Takes the documentation's screenshots of the voice page's status panel, the activity page and the native chat view,
against the sandbox.

Run: .venv/bin/python -m docs.screenshots   (headless Debian chromium; writes docs/voice-status.png, docs/activity.png,
docs/chat-native.png)
"""

import contextlib
import secrets
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent

from playwright.sync_api import expect, sync_playwright

from examples import platform_api, warehouse_mcp
from harness.browser import Sandbox, open_voice_page, start_app

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--use-fake-device-for-media-stream"]
INSTRUCTIONS = ("You help data-platform admins: answer briefly, name the dashboard or runbook you used, "
                "and ask before anything destructive.")
USAGE = {"inputTextTokens": 42, "inputAudioTokens": 1830, "cachedTokens": 640, "outputTextTokens": 310,
         "outputAudioTokens": 2950}
# (time to connect ms or None for a failed attempt, duration ms, how it ended)
SESSIONS = [(118, 95_000, "hang-up"), (131, 240_500, "hang-up"), (None, None, "ice_failed"), (104, 61_000, "session limit")]
POST_FROM_PAGE = """async ([path, body]) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(path, {method: "POST", body: body ? JSON.stringify(body) : undefined,
                                      headers: {"X-CSRFToken": token, "Content-Type": "application/json"}});
  return response.status;
}"""


def telemetry(attempt, event, connect_ms=None, duration_ms=None, reason=None, usage=None, cost=None):
    return {"attemptId": attempt, "event": event, "mode": "ephemeral", "reason": reason, "connectMs": connect_ms,
            "durationMs": duration_ms, "usage": usage, "estimatedCostUsd": cost}


def fill_activity(page, sandbox):
    def post(path, body=None):
        return page.evaluate(POST_FROM_PAGE, [path, body])

    sandbox.control(mint_latency_ms=40)
    for _ in range(3):
        post("/api/v1/chatkit/realtime-session")
    sandbox.control(fail_next_mints={"count": 1, "status": 401})
    post("/api/v1/chatkit/realtime-session")
    for index, (connect_ms, duration_ms, reason) in enumerate(SESSIONS):
        attempt = f"screenshot-{index}"
        if connect_ms is None:
            post("/api/v1/realtime/telemetry", telemetry(attempt, "failed", reason=reason))
            continue
        post("/api/v1/realtime/telemetry", telemetry(attempt, "connected", connect_ms))
        post("/api/v1/realtime/telemetry", telemetry(attempt, "ended", connect_ms, duration_ms, reason, USAGE,
                                                     round(0.0321 * (index + 1), 4)))


VOICE_LINES = [{"role": "user", "text": "Is the events rollup still failing?", "id": "item_shot_1"},
               {"role": "assistant", "text": "Yes: events_rollup ran out of memory in aggregate_hourly.",
                "id": "item_shot_2"}]


def chat_native_screenshot(browser, sandbox):
    """The native chat view as `make run` shows it offline: examples/agent.toml's tools on the example platform, a
    tool entry, a voice turn and an approval waiting for the admin."""
    tokens = {"PLATFORM_TOKEN": secrets.token_urlsafe(12), "WAREHOUSE_MCP_TOKEN": secrets.token_urlsafe(12)}
    with contextlib.ExitStack() as stack:
        platform_url = stack.enter_context(platform_api.running(tokens["PLATFORM_TOKEN"]))
        warehouse_url = stack.enter_context(warehouse_mcp.running(tokens["WAREHOUSE_MCP_TOKEN"]))
        app = start_app(tempfile.mkdtemp(), sandbox.url, CHAT_UI="native", PLATFORM_URL=platform_url,
                        WAREHOUSE_MCP_URL=warehouse_url, AGENT_FILE=str(DOCS.parent / "examples" / "agent.toml"),
                        **tokens)
        stack.callback(app.stop)
        page = open_voice_page(browser, app.url)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto("/admin/chat/threads/new")
        for text in ("Which pipelines failed last night?", "Rerun the orders_daily pipeline, please"):
            page.fill("#chat-text", text)
            page.click("#chat-send")
            expect(page.locator("#chat-native")).to_have_attribute("data-state", "idle", timeout=15_000)
        page.evaluate("""async (lines) => {
          const { sendVoiceTranscript } = await import("/static/js/chat-transcript.js");
          await sendVoiceTranscript(lines);
        }""", VOICE_LINES)
        page.reload()
        expect(page.locator("#chat-items .approval-card button")).to_have_count(2)
        page.screenshot(path=str(DOCS / "chat-native.png"), full_page=True)
        page.context.close()


def main():
    sandbox = Sandbox()
    app = start_app(tempfile.mkdtemp(), sandbox.url, OPENAI_REALTIME_VOICE="marin",
                    OPENAI_REALTIME_INSTRUCTIONS=INSTRUCTIONS)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            page = open_voice_page(browser, app.url)
            page.set_viewport_size({"width": 1280, "height": 900})
            fill_activity(page, sandbox)
            page.reload()
            sandbox.control(mint_latency_ms=60)
            page.get_by_role("button", name="Test connection").click()
            expect(page.locator("#test-connection-result")).to_contain_text("Connection works")
            # What the voice module dispatches after a mint; here without starting a call.
            page.evaluate("document.dispatchEvent(new CustomEvent('voice:minted', "
                          "{detail: {expiresAt: Date.now() / 1000 + 57}}))")
            expect(page.locator("#voice-status .last-mint")).to_contain_text("test")
            expect(page.locator("[data-secret-expiry]")).to_contain_text("expires in")
            page.locator(".status-panel").screenshot(path=str(DOCS / "voice-status.png"))
            page.goto("/admin/activity")
            page.screenshot(path=str(DOCS / "activity.png"), full_page=True)
            chat_native_screenshot(browser, sandbox)
            browser.close()
    finally:
        app.stop()
        sandbox.stop()


if __name__ == "__main__":
    main()
