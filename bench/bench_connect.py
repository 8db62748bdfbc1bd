"""Click-to-connected benchmark: headless Chromium on the voice page against the local sandbox, which adds a
fixed latency to the mint and to the SDP answer; each figure is printed beside the sum of those latencies.

    .venv/bin/python -m bench.bench_connect                                  # 10 runs per row, both modes
    .venv/bin/python -m bench.bench_connect --runs 30 --latencies 0:0,100:100,300:200
    .venv/bin/python -m bench.bench_connect --screenshot docs/voice.png      # the README's screenshot, then exit

"Connected" is what the page shows: the `oai-events` data channel is open, measured by the page itself from
the Start click (performance.now()). In ephemeral mode the mint runs while the microphone opens and the SDP
post follows it, so the injected latency is mint + SDP; in relay mode no secret is minted and only the SDP
latency applies (the server relays the offer to the sandbox's /v1/realtime/calls).
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


def connect_once(page):
    """One Start click to Connected; answers the page's own click-to-connected time in ms."""
    page.click("#voice-start")
    expect(page.locator("#voice-state")).to_have_text("Connected", timeout=30_000)
    connect_ms = float(page.locator("#voice-connect-time").get_attribute("data-ms"))
    page.click("#voice-hangup")
    expect(page.locator("#voice-state")).to_have_text("Ended")
    return connect_ms


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
                page = open_voice_page(browser, apps[mode].url)
                connect_once(page)  # warm-up: module loading, first getUserMedia, connection pools
                for mint_ms, sdp_ms in arguments.latencies:
                    sandbox.control(reset=True, mint_latency_ms=mint_ms, sdp_latency_ms=sdp_ms)
                    injected = (mint_ms if mode == "ephemeral" else 0) + sdp_ms
                    times = [connect_once(page) for _ in range(arguments.runs)]
                    rows.append((mode, mint_ms, sdp_ms, injected, times))
                    print_row(rows[-1], flush=True)
                page.context.close()
        finally:
            browser.close()
            for app in apps.values():
                app.stop()
            sandbox.stop()
    return rows


HEADER = ("| mode | mint ms | SDP ms | injected sum ms | runs | median ms | p90 ms | min ms | max ms "
          "| median - injected ms |\n|---|---|---|---|---|---|---|---|---|---|")


def print_row(row, flush=False):
    mode, mint_ms, sdp_ms, injected, times = row
    median = statistics.median(times)
    print(f"| {mode} | {mint_ms:.0f}{' (unused)' if mode == 'relay' else ''} | {sdp_ms:.0f} | {injected:.0f} "
          f"| {len(times)} | {median:.0f} | {percentile(times, 0.9):.0f} | {min(times):.0f} | {max(times):.0f} "
          f"| {median - injected:+.0f} |", flush=flush)


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
    parser.add_argument("--latencies", type=parse_latencies, default=parse_latencies("0:0,100:100,250:250"),
                        help="comma list of MINT_MS:SDP_MS the sandbox adds (default 0:0,100:100,250:250)")
    parser.add_argument("--modes", type=lambda text: text.split(","), default=["ephemeral", "relay"])
    parser.add_argument("--screenshot", type=Path, help="only take the README's screenshot of a session to this path")
    arguments = parser.parse_args(argv)
    if arguments.screenshot:
        take_screenshot(arguments.screenshot)
        return
    print(HEADER, flush=True)
    run(arguments)


if __name__ == "__main__":
    main()
