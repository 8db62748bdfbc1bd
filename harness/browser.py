"""Plumbing shared by the browser tests and bench/bench_connect.py: the sandbox, the app and headless Chromium."""

import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]

from app import create_app
from core.admins import add_admin
from core.clock import SYSTEM_CLOCK
from sandbox.fake_mic import write_fake_mic_wav

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Flags found to work on the test machines (headless, no network but loopback); the microphone permission is granted per context (or not,
# for the denied-microphone test) instead of --use-fake-ui-for-media-stream, so one browser serves every test.
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",  # the runner's only network may be loopback
    # A host name that is not localhost, for the plain-HTTP (insecure context) test; nothing leaves the machine.
    "--host-resolver-rules=MAP insecure.test 127.0.0.1",
]
INSECURE_HOST = "insecure.test"
ADMIN, PASSWORD = "voice-e2e", "voice-e2e-password"
SANDBOX_KEY = "sk-sandbox"


class Sandbox:
    """`python -m sandbox` in a subprocess, with its control knobs."""

    def __init__(self, *extra_args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--loopback-ice", *extra_args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("sandbox listening on "):
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = line.removeprefix("sandbox listening on ")  # http://127.0.0.1:N/v1
        self.origin = self.url.removesuffix("/v1")

    def control(self, **knobs):
        return self._call("POST", "/_sandbox/control", knobs)

    def state(self):
        return self._call("GET", "/_sandbox/state")

    def call_events(self, call_id):
        """Every event of one of the sandbox's newest calls, both ways, in order: [{"from", "event"}]."""
        return self._call("GET", f"/_sandbox/calls/{call_id}/events")["events"]

    def hang_up(self, call_id):
        """Ends a call from the sandbox's side, as a dropped connection would."""
        return self._call("POST", f"/v1/realtime/calls/{call_id}/hangup", {}, {"Authorization": f"Bearer {SANDBOX_KEY}"})

    def _call(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.origin + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RequestsInFlight:
    """WSGI middleware counting the requests whose answers are not yet all written, streams included. Counted to
    the last byte, not to close(): after a keep-alive POST the dev server reads the socket until the browser hangs
    up before it calls close()."""

    def __init__(self, app):
        self.app, self.count, self._lock = app, 0, threading.Lock()

    def __call__(self, environ, start_response):
        self._add(1)
        try:
            return _CountedAnswer(self.app(environ, start_response), lambda: self._add(-1))
        except BaseException:
            self._add(-1)
            raise

    def _add(self, amount):
        with self._lock:
            self.count += amount


class _CountedAnswer:
    def __init__(self, iterable, finished):
        self._iterable, self._finished, self._done = iterable, finished, False

    def __iter__(self):
        try:
            for chunk in self._iterable:  # not `yield from`: that would close the answer too, before werkzeug does
                yield chunk
        finally:
            self._finish()

    def close(self):
        try:
            getattr(self._iterable, "close", lambda: None)()
        finally:
            self._finish()

    def _finish(self):
        if not self._done:
            self._done = True
            self._finished()


@dataclass
class LiveApp:
    url: str
    server: object
    thread: threading.Thread
    in_flight: RequestsInFlight

    def wait_until_idle(self, timeout=10.0, quiet=0.1):
        """Waits for the requests a closed page left behind (a mint ahead of the next click, say): the next test's
        sandbox knobs must not be used up by them. Idle means none for `quiet` seconds, as a request already sent
        may not have reached the app yet. Gives up quietly after `timeout` (a stream may never end)."""
        deadline = time.monotonic() + timeout
        idle_since = None
        while time.monotonic() < deadline:
            if self.in_flight.count:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= quiet:
                return
            time.sleep(0.01)

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


def start_app(workdir, sandbox_url, clock=None, **environ):
    """The app on 127.0.0.1 (a free port) in a werkzeug server thread, pointed at the sandbox; `clock` (a
    core.clock.Clock) is the day it stands on, the machine's by default (benchmarks), a fixed one in tests."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    admins = workdir / "admins.txt"
    if not admins.exists():
        add_admin(str(admins), ADMIN, PASSWORD)
    env = {
        "SECRET_KEY": "e2e-secret-key",
        "FORCE_HTTPS": "0",
        "OPENAI_API_KEY": SANDBOX_KEY,
        "OPENAI_BASE_URL": sandbox_url,
        "OPENAI_SANDBOX": "1",
        "ADMIN_USERS_FILE": str(admins),
        "DATABASE_URL": f"sqlite:///{workdir / 'console.db'}",
        "MINT_RATE_LIMIT": "1000 per minute",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        **environ,
    }
    app = create_app({"ENVIRON": env, "CLOCK": clock or SYSTEM_CLOCK})
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the test output
    in_flight = RequestsInFlight(app)
    server = make_server("127.0.0.1", 0, in_flight, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-app", daemon=True)
    thread.start()
    return LiveApp(f"http://127.0.0.1:{server.server_port}", server, thread, in_flight)


def launch_chromium(playwright, workdir):
    # Chromium's own fake microphone only beeps, which is not speech; this file loops speech-like bursts.
    speech = write_fake_mic_wav(Path(workdir) / "fake-speech.wav")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={speech}"],
    )


# Records every RTCPeerConnection and microphone stream the page makes, so a test can ask the browser itself
# (getStats, track.readyState) what happened. Playwright injects it past the page's CSP.
RECORDER = """
(() => {
  window.__voiceTest = { peers: [], streams: [] };
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__voiceTest.peers.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
  const getUserMedia = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
  if (getUserMedia) {
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await getUserMedia(constraints);
      window.__voiceTest.streams.push(stream);
      return stream;
    };
  }
})();
"""


def open_voice_page(browser, app_url, *, microphone=True, init_scripts=(), admin=ADMIN, password=PASSWORD,
                    **context_options):
    """A new context signed in as `admin`, on /admin/voice; the caller closes page.context.
    `init_scripts` run before any of the page's own scripts, then RECORDER."""
    context = browser.new_context(base_url=app_url, **context_options)
    if microphone:
        context.grant_permissions(["microphone"], origin=app_url)
    for script in (*init_scripts, RECORDER):
        context.add_init_script(script)
    page = context.new_page()
    page.goto("/login?next=/admin/voice")
    page.fill("#username", admin)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/voice")
    return page
