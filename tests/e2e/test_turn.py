"""Voice through coturn: headless Chromium forced to relay-only ICE reaches the sandbox through a real coturn
(deploy/turnserver.conf, use-auth-secret) with the per-session credentials the app mints."""

import re

import pytest
from playwright.sync_api import expect

from harness.browser import open_voice_page, start_app
from harness.real_servers import Coturn, wait_until

TURN_SECRET = "turn-test-secret-0123456789"
# What a browser behind a strict NAT must do: use relayed candidates only, so nothing but TURN can connect.
FORCE_RELAY = """
(() => {
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config = {}) {
    return new Original({ ...config, iceTransportPolicy: 'relay' });
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""
# The candidate pair the connection selected, as the browser reports it.
SELECTED_PAIR = """async () => {
  const pc = window.__voiceTest.peers.at(-1);
  const stats = [...(await pc.getStats()).values()];
  const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
  const local = stats.find((s) => s.id === pair?.localCandidateId);
  return local ? { type: local.candidateType, received: pair.bytesReceived } : null;
}"""


@pytest.fixture(scope="module")
def coturn():
    server = Coturn(TURN_SECRET)
    yield server
    server.close()


@pytest.fixture(scope="module")
def turn_apps(coturn, sandbox_server, tmp_path_factory):
    """turn_apps(secret, connect_timeout) -> the URL of an app whose TURN_SHARED_SECRET is `secret`."""
    started = {}

    def serve(secret, connect_timeout="10"):
        if secret not in started:
            started[secret] = start_app(
                tmp_path_factory.mktemp("turn-app"), sandbox_server.url,
                TURN_SHARED_SECRET=secret, TURN_URLS=coturn.url, VOICE_CONNECT_TIMEOUT_SECONDS=connect_timeout,
            )
        return started[secret].url

    yield serve
    for app in started.values():
        app.stop()


def relay_only_page(browser, app_url):
    page = open_voice_page(browser, app_url, init_scripts=[FORCE_RELAY])
    page.set_default_timeout(15_000)
    return page


def expect_connected(page, coturn):
    """Waits for Connected; an Error instead fails with what the page said and what coturn logged."""
    page.wait_for_function("() => ['Connected', 'Error'].includes(document.querySelector('#voice-state').textContent.trim())")
    state = page.locator("#voice-state").text_content().strip()
    assert state == "Connected", f"{page.locator('#voice-message-text').text_content()!r}\ncoturn: {coturn.log()[-3000:]}"


def test_a_relay_only_browser_connects_through_coturn_with_minted_credentials(browser, turn_apps, sandbox, coturn):
    page = relay_only_page(browser, turn_apps(TURN_SECRET))
    try:
        page.click("#voice-start")
        expect_connected(page, coturn)
        page.wait_for_function(f"async () => ((await ({SELECTED_PAIR})()) || {{}}).received > 2000", polling=200)
        assert page.evaluate(SELECTED_PAIR)["type"] == "relay"
        # coturn saw the app's TURN REST user name: "<expiry>:<admin id>".
        wait_until(lambda: re.search(r"user <\d{10}:admin_[0-9a-f]{32}>", coturn.log()), timeout=5)
        page.click("#voice-hangup")
        expect(page.locator("#voice-state")).to_have_text("Ended")
    finally:
        page.context.close()


def test_wrong_turn_credentials_end_in_the_ice_failure_message(browser, turn_apps, sandbox, coturn):
    # coturn refuses the allocation, so no relayed candidate exists and the page gives up after 3 s.
    page = relay_only_page(browser, turn_apps("not-the-secret-coturn-knows", connect_timeout="3"))
    earlier_log = len(coturn.log())
    try:
        page.click("#voice-start")
        expect(page.locator("#voice-state")).to_have_text("Error", timeout=20_000)
        expect(page.locator("#voice-message-text")).to_contain_text("check the STUN/TURN servers")
        assert page.evaluate(SELECTED_PAIR) is None
        # It was the credentials: coturn refused the app's user name (its HMAC did not match).
        wait_until(lambda: re.search(r"user <\d{10}:admin_[0-9a-f]{32}>: .*error 401", coturn.log()[earlier_log:]),
                   timeout=5)
    finally:
        page.context.close()
