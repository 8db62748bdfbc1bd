"""A full voice session in headless Chromium through deploy/nginx.conf over HTTPS (self-signed certificate)
in front of gunicorn, against the sandbox. The non-browser nginx checks are in tests/test_deploy_nginx.py."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from harness.browser import open_voice_page

TESTS = Path(__file__).resolve().parents[1]

from harness.load import ADMIN, PASSWORD, AppServer
from harness.real_servers import Nginx

AUDIO_RECEIVED = """async () => {
  const pc = window.__voiceTest.peers.at(-1);
  let received = 0;
  (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') received += r.bytesReceived; });
  return received > 2000;
}"""


@pytest.fixture
def nginx_in_front(sandbox_server, tmp_path):
    """gunicorn (relay mode, so the page, the SDP offer and the telemetry all pass nginx) behind nginx."""
    app = AppServer(sandbox_server.url, connect_mode="relay", extra_env={
        "OPENAI_API_KEY": "sk-sandbox", "FORCE_HTTPS": "1", "TRUSTED_PROXIES": "1", "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "8"})
    nginx = None
    try:
        nginx = Nginx(app_ports=[app.port], folder=tmp_path / "nginx")
        yield nginx
    finally:
        if nginx:
            nginx.close()
        app.close()


def test_a_full_voice_session_through_nginx_over_https(browser, nginx_in_front, sandbox):
    nginx = nginx_in_front
    page = open_voice_page(browser, nginx.https_url, admin=ADMIN, password=PASSWORD, ignore_https_errors=True)
    try:
        page.set_default_timeout(15_000)
        assert page.evaluate("window.isSecureContext && location.protocol") == "https:"
        page.click("#voice-start")
        expect(page.locator("#voice-state")).to_have_text("Connected")
        page.wait_for_function(AUDIO_RECEIVED, polling=200, timeout=10_000)
        page.click("#voice-hangup")
        expect(page.locator("#voice-state")).to_have_text("Ended")
    finally:
        page.context.close()
    # The browser spoke HTTP/2 to nginx (listen ... ssl http2), which spoke HTTP/1.1 keep-alive to gunicorn.
    assert '"POST /api/v1/realtime/calls HTTP/2.0" 201' in nginx.log("access.log")
