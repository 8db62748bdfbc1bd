"""Native chat view benchmark: the time from Send to the first streamed text in the page, offline, against the sandbox.

    .venv/bin/python -m bench.bench_chat_view              # 30 sends, one thread, as `make run` serves the app
    .venv/bin/python -m bench.bench_chat_view --sends 50 --new-threads

The app runs as `make run` runs it without a key (werkzeug's threaded server, CHAT_UI=native, the sandbox's
streamed POST /v1/responses answering the agent; the sandbox waits 20 ms before each text delta). Headless Chromium
types a message and presses Send; the page's module marks `chat:send` on the click and `chat:first-text` when the
first text delta arrives (static/js/chat-native.js), and the bench reads both marks from the page. "done" is Send
to the server's rendering of the finished answer in the thread.
"""

import argparse
import statistics
import tempfile

from playwright.sync_api import expect, sync_playwright

from harness.browser import Sandbox, launch_chromium, open_voice_page, start_app

MARKS = """() => {
  const mark = (name) => performance.getEntriesByName(name).at(-1)?.startTime;
  return {send: mark('chat:send'), first: mark('chat:first-text')};
}"""


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def one_send(page, text):
    """(ms from Send to the first text, ms from Send to the rendered answer) for one message."""
    page.evaluate("performance.clearMarks()")
    page.fill("#chat-text", text)
    started = page.evaluate("performance.now()")
    page.click("#chat-send")
    expect(page.locator("#chat-native")).to_have_attribute("data-state", "idle", timeout=30_000)
    done = page.evaluate("performance.now()") - started
    marks = page.evaluate(MARKS)
    if marks["first"] is None:
        raise RuntimeError(f"no text arrived for {text!r}: {page.locator('#chat-error').inner_text()}")
    return marks["first"] - marks["send"], done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=30, help="messages to send (default 30)")
    parser.add_argument("--warm-up", type=int, default=3, help="sends before measuring (default 3)")
    parser.add_argument("--new-threads", action="store_true", help="start a new thread for every send")
    arguments = parser.parse_args()

    sandbox = Sandbox()
    app = start_app(tempfile.mkdtemp(prefix="bench-chat-view-"), sandbox.url, CHAT_UI="native",
                    CHAT_RATE_LIMIT="1000 per minute")
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, tempfile.mkdtemp(prefix="bench-chromium-"))
            page = open_voice_page(browser, app.url)
            page.goto("/admin/chat/threads/new")
            first, done = [], []
            for index in range(arguments.warm_up + arguments.sends):
                if arguments.new_threads:
                    page.goto("/admin/chat/threads/new")
                to_first, to_done = one_send(page, f"Message {index}: which pipelines failed last night?")
                if index >= arguments.warm_up:
                    first.append(to_first)
                    done.append(to_done)
            browser.close()
    finally:
        app.stop()
        sandbox.stop()
    where = "a new thread each" if arguments.new_threads else "one thread"
    print(f"{arguments.sends} sends ({where}) after {arguments.warm_up} to warm up; the sandbox waits 20 ms per delta")
    print("| | median ms | p90 ms | min ms | max ms |")
    print("|---|---|---|---|---|")
    for label, values in (("Send to first streamed text", first), ("Send to the rendered answer", done)):
        print(f"| {label} | {statistics.median(values):.1f} | {percentile(values, 0.9):.1f} | {min(values):.1f} | "
              f"{max(values):.1f} |")


if __name__ == "__main__":
    main()
