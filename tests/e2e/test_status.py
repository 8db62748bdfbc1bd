"""The voice page's status panel in headless Chromium: the htmx fragments load and refresh, and Test connection works."""

import re

from playwright.sync_api import expect

MINT_LATENCY_MS = 150


def csrf_fetch(page, path):
    """Posts from inside the page, as its own modules do, and answers the JSON."""
    return page.evaluate(
        """async (path) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch(path, {method: "POST", headers: {"X-CSRFToken": token}});
            return await response.json();
        }""",
        path,
    )


def test_the_status_panel_loads_with_the_sandbox_configuration(signed_in_page):
    page = signed_in_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.reload()
    status = page.locator("#voice-status")
    expect(status).to_contain_text("Voice is ready (Sandbox)")
    expect(status).to_contain_text("gpt-realtime-2.1")
    expect(status).to_contain_text("sk-…")
    expect(status).not_to_contain_text("sk-sandbox")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-connection-result")).to_contain_text("Connection works")
    assert not [text for text in console if "Content Security Policy" in text], console


def test_the_status_panel_refreshes_on_a_mint_and_counts_the_secret_down(signed_in_page):
    page = signed_in_page()
    expect(page.locator("#voice-status")).to_contain_text("Voice is ready")
    minted = csrf_fetch(page, "/api/v1/chatkit/realtime-session")["data"]
    with page.expect_response(re.compile(r"/admin/voice/status\?version=")):
        # What the voice page (static/js/voice/call.js) dispatches after each mint; htmx listens for it on document.
        page.evaluate("(expiresAt) => document.dispatchEvent(new CustomEvent('voice:minted', {detail: {expiresAt}}))",
                      minted["token"]["expires_at"])
    last_mint = page.locator("#voice-status .last-mint")
    expect(last_mint).to_contain_text("ok")
    expect(last_mint).to_contain_text("realtime")
    expect(page.locator("[data-secret-expiry]")).to_have_text(re.compile(r"Current secret: expires in (\d+ min )?\d+ s\."))


def test_the_status_panel_polls_every_few_seconds(signed_in_page):
    page = signed_in_page()
    expect(page.locator("#voice-status")).to_contain_text("Voice is ready")
    # A mint the page does not hear about (another tab, say) shows up at the next poll.
    page.context.request.post(page.url.replace("/admin/voice", "/admin/voice/test-connection"),
                              headers={"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content"),
                                       "HX-Request": "true"})
    expect(page.locator("#voice-status .last-mint")).to_contain_text("test", timeout=8_000)


def test_test_connection_reports_a_latency_and_never_the_secret(signed_in_page, sandbox):
    sandbox.control(mint_latency_ms=MINT_LATENCY_MS)
    page = signed_in_page()
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-connection-result")
    expect(result).to_contain_text("Connection works: a secret was minted in")
    latency_ms = int(re.search(r"minted in (\d+) ms", result.inner_text()).group(1))
    assert MINT_LATENCY_MS <= latency_ms < MINT_LATENCY_MS + 2_000
    assert re.search(r"request id req_\w+", result.inner_text())
    assert "ek_" not in page.content()
    expect(page.locator("#voice-status .last-mint")).to_contain_text("test")


def test_test_connection_explains_a_refusal(signed_in_page, sandbox):
    page = signed_in_page()
    # The page mints ahead of the click as it loads (static/js/voice/prepare.js): the refusal is for Test connection.
    expect(page.locator("#voice-console")).to_have_attribute("data-prepared", "ready")
    sandbox.control(fail_next_mints={"count": 1, "status": 401})
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-connection-result")
    expect(result).to_contain_text("Test failed after")
    expect(result).to_contain_text("check OPENAI_API_KEY")


def test_a_signed_out_panel_sends_the_browser_to_login(signed_in_page):
    page = signed_in_page()
    expect(page.locator("#voice-status")).to_contain_text("Voice is ready")
    page.context.clear_cookies()
    page.evaluate("document.dispatchEvent(new CustomEvent('voice:ended', {detail: {reason: 'test'}}))")
    page.wait_for_url(re.compile(r"/login\?next="))
