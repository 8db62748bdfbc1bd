"""Click-to-connected benchmark: headless Chromium on the voice page against the local sandbox, which adds a
fixed latency to the mint and to the SDP answer, with a microphone that takes --mic-ms to start. Both flows run
in the same run, their clicks interleaved, so a busy machine slows both alike:

- prepared ("instant start", the default): the peer connection, its offer and (ephemeral mode) the secret are
  made before the click; the click posts the offer while the microphone starts;
- at-click (the page with ?prepare=off): the click readies the same call itself, beside the microphone: mint,
  peer and offer, then the SDP exchange and ICE/DTLS (one connect path: preparing is only its optional first step).

    .venv/bin/python -m bench.bench_connect                                  # 10 runs per row, both modes
    .venv/bin/python -m bench.bench_connect --runs 20 --latencies 100:100 --mic-ms 300
    .venv/bin/python -m bench.bench_connect --screenshot docs/voice.png      # the README's screenshot, then exit

"Connected" is what the page shows, measured by the page itself from the Start click (performance.now()): the
`oai-events` data channel is open and the microphone is live. The model column is what the injected delays
alone predict: at-click = max(mic, mint + SDP) in ephemeral mode, max(mic, SDP) in relay mode (no mint; the
server relays the offer); prepared = max(mic, SDP). The prepared flow's clicks wait until the page shows
data-prepared="ready" (it prepares again after each hang-up), as an admin's click would find it.
"""

import argparse
import re
import statistics
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from playwright.sync_api import expect, sync_playwright

from harness.browser import Sandbox, launch_chromium, open_voice_page, start_app


def parse_latencies(text):
    pairs = []
    for item in text.split(","):
        mint, sdp = item.split(":")
        pairs.append((float(mint), float(sdp)))
    return pairs


FLOWS = ("prepared", "at-click")


def slow_microphone(delay_ms):
    """An init script making getUserMedia take `delay_ms` longer, as a real microphone takes to start. It keeps how
    long the last call took in all (Chromium's own start included) in window.__microphoneMs."""
    return f"""
(() => {{
  const getUserMedia = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
  if (!getUserMedia) return;
  navigator.mediaDevices.getUserMedia = async (constraints) => {{
    const asked = performance.now();
    const stream = await getUserMedia(constraints);
    await new Promise((resolve) => setTimeout(resolve, {delay_ms:.0f}));
    window.__microphoneMs = performance.now() - asked;
    return stream;
  }};
}})();
"""


def open_flow(browser, app_url, flow, mic_ms):
    page = open_voice_page(browser, app_url, init_scripts=[slow_microphone(mic_ms)])
    if flow == "at-click":
        page.goto("/admin/voice?prepare=off")  # admin-voice.js then makes nothing before the click
    return page


def model_ms(mode, flow, mint_ms, sdp_ms, mic_ms):
    if flow == "prepared" or mode == "relay":
        return max(mic_ms, sdp_ms)
    return max(mic_ms, mint_ms + sdp_ms)


def connect_once(page):
    """One Start click to Connected; answers the page's own click-to-connected time in ms, and how long the
    microphone took to start in that call (getUserMedia, called at the click)."""
    if page.locator("#voice-console").get_attribute("data-prepared") != "off":
        expect(page.locator("#voice-console")).to_have_attribute("data-prepared", "ready", timeout=30_000)
    page.click("#voice-start")
    expect(page.locator("#voice-state")).to_have_text("Connected", timeout=30_000)
    connect_ms = float(page.locator("#voice-connect-time").get_attribute("data-ms"))
    microphone_ms = page.evaluate("() => window.__microphoneMs")
    page.click("#voice-hangup")
    expect(page.locator("#voice-state")).to_have_text("Ended")
    return connect_ms, microphone_ms


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(arguments):
    rows = []
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        sandbox = Sandbox("--answer-audio", "tone")
        apps = {}
        browser = launch_chromium(playwright, workdir)
        try:
            for mode in arguments.modes:
                apps[mode] = start_app(Path(workdir) / mode, sandbox.url, OPENAI_REALTIME_CONNECT=mode)
                pages = {flow: open_flow(browser, apps[mode].url, flow, arguments.mic_ms) for flow in FLOWS}
                for page in pages.values():
                    connect_once(page)  # warm-up: module loading, first getUserMedia, connection pools
                for mint_ms, sdp_ms in arguments.latencies:
                    sandbox.control(reset=True, mint_latency_ms=mint_ms, sdp_latency_ms=sdp_ms)
                    times = {flow: [] for flow in FLOWS}
                    microphone = {flow: [] for flow in FLOWS}
                    for _ in range(arguments.runs):
                        for flow in FLOWS:  # interleaved: both flows see the same machine load
                            connect_ms, microphone_ms = connect_once(pages[flow])
                            times[flow].append(connect_ms)
                            microphone[flow].append(microphone_ms)
                    for flow in FLOWS:
                        model = model_ms(mode, flow, mint_ms, sdp_ms, arguments.mic_ms)
                        rows.append((mode, flow, mint_ms, sdp_ms, arguments.mic_ms, model, times[flow],
                                     microphone[flow]))
                        print_row(rows[-1], flush=True)
                for page in pages.values():
                    page.context.close()
        finally:
            browser.close()
            for app in apps.values():
                app.stop()
            sandbox.stop()
    return rows


# "mic started": how long getUserMedia took in that call, the injected delay and Chromium's own start together;
# "after the mic": each call's Connected minus its microphone start, the part the microphone does not explain.
HEADER = ("| mode | flow | mint ms | SDP ms | mic ms | model ms | runs | median ms | p90 ms | min ms | max ms "
          "| median - model ms | mic started median ms | after the mic median ms |"
          "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def print_row(row, flush=False):
    mode, flow, mint_ms, sdp_ms, mic_ms, model, times, microphone = row
    median = statistics.median(times)
    after_microphone = statistics.median(time - started for time, started in zip(times, microphone))
    unused = " (unused)" if mode == "relay" or flow == "prepared" else ""
    print(f"| {mode} | {flow} | {mint_ms:.0f}{unused} | {sdp_ms:.0f} | {mic_ms:.0f} | {model:.0f} "
          f"| {len(times)} | {median:.0f} | {percentile(times, 0.9):.0f} | {min(times):.0f} | {max(times):.0f} "
          f"| {median - model:+.0f} | {statistics.median(microphone):.0f} | {after_microphone:+.0f} |", flush=flush)


def take_screenshot(path):
    """A session in progress on the voice page: conversation, a live settings change, usage and the log."""
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        sandbox = Sandbox("--answer-audio", "tone")
        app = start_app(Path(workdir) / "app", sandbox.url, OPENAI_REALTIME_CONNECT="ephemeral",
                        OPENAI_REALTIME_INSTRUCTIONS="You help data-platform admins. Keep answers short.")
        browser = launch_chromium(playwright, workdir)
        try:
            page = open_voice_page(browser, app.url)
            page.set_viewport_size({"width": 1280, "height": 1100})
            page.click("#voice-start")
            expect(page.locator("#voice-state")).to_have_text("Connected", timeout=30_000)
            expect(page.locator(".turn-agent")).to_have_count(2, timeout=20_000)
            page.fill("#voice-max-tokens", "400")
            page.select_option("#voice-turn-detection", "semantic_vad")
            page.click("#voice-settings-form button[type=submit]")
            expect(page.locator("#voice-settings-result")).to_contain_text("Applied")
            page.fill("#voice-text", "Which pipelines failed last night?")
            page.click("#voice-text-form button[type=submit]")
            expect(page.locator(".turn-agent")).to_have_count(3, timeout=20_000)
            # Let the answer to the typed message finish streaming in.
            expect(page.locator("#usage-responses")).to_have_text(re.compile(r"^([3-9]|\d\d+)$"), timeout=20_000)
            page.fill("#voice-log-filter", "response.")
            page.screenshot(path=str(path), full_page=True)
            page.click("#voice-hangup")
        finally:
            browser.close()
            app.stop()
            sandbox.stop()
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="connections per row (default 10)")
    parser.add_argument("--latencies", type=parse_latencies, default=parse_latencies("100:100,250:250"),
                        help="comma list of MINT_MS:SDP_MS the sandbox adds (default 100:100,250:250)")
    parser.add_argument("--modes", type=lambda text: text.split(","), default=["ephemeral", "relay"])
    parser.add_argument("--mic-ms", type=float, default=300,
                        help="how much longer getUserMedia takes, as a real microphone starting (default 300)")
    parser.add_argument("--screenshot", type=Path, help="only take the README's screenshot of a session to this path")
    arguments = parser.parse_args(argv)
    if arguments.screenshot:
        take_screenshot(arguments.screenshot)
        return
    print(HEADER, flush=True)
    run(arguments)


if __name__ == "__main__":
    main()
