"""Chat benchmark: time to the first answer delta through POST /chatkit against the upstream's own, at 1 and 16
chats started together, and the app's CPU per chat turn.

    .venv/bin/python -m bench.bench_chat                          # production gunicorn settings, 1 and 16 chats
    .venv/bin/python -m bench.bench_chat --rounds 20 --concurrency 1,4,16 --first-token-ms 200

The upstream is harness/standin.py's streamed POST /v1/responses: its first text delta after --first-token-ms,
then --deltas more, --delta-ms apart. "upstream" is that stand-in measured alone with the same concurrency (the
time from sending a request to its first delta); "app" is the same through the app (sign-in cookie, CSRF, a new
ChatKit thread per chat, the Agents SDK run, the database store, SSE), and "added" is app minus upstream.
"""

import argparse
import asyncio
import json
import statistics
import time

import aiohttp

from harness.load import AppServer, StandInProcess, cpu_seconds, sign_in

UNLIMITED = "1000000 per minute"


def chat_body(text):
    return json.dumps({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}}).encode()


def responses_body(text):
    return json.dumps({"model": "gpt-5.6-luna", "input": text, "stream": True}).encode()


async def first_delta_ms(session, url, body, headers, marker):
    """Milliseconds from sending the request to the first SSE line holding `marker`; reads the stream to its end."""
    started = time.perf_counter()
    first = None
    async with session.post(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {(await response.text())[:300]}")
        async for line in response.content:
            if first is None and marker in line:
                first = (time.perf_counter() - started) * 1000
    if first is None:
        raise RuntimeError(f"{url}: the stream ended without {marker!r}")
    return first


async def measure(url, body, headers, marker, concurrency, rounds):
    """Every round starts `concurrency` requests together; returns all their first-delta times."""
    times = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(rounds):
            times += await asyncio.gather(
                *(first_delta_ms(session, url, body, headers, marker) for _ in range(concurrency))
            )
    return times


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,16", help="comma list of chats started together")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per concurrency (default 10)")
    parser.add_argument("--first-token-ms", type=float, default=200.0)
    parser.add_argument("--deltas", type=int, default=20)
    parser.add_argument("--delta-ms", type=float, default=10.0)
    arguments = parser.parse_args()
    levels = [int(level) for level in arguments.concurrency.split(",")]

    standin = StandInProcess(arguments.first_token_ms, extra_args=(
        "--deltas", str(arguments.deltas), "--delta-ms", str(arguments.delta_ms)))
    server = AppServer(standin.base_url, extra_env={
        "CHATKIT_MODE": "self-hosted", "CHAT_RATE_LIMIT": UNLIMITED, "CHAT_MAX_STREAMS_PER_ADMIN": "100",
        "CHAT_MAX_STREAMS_PER_WORKER": "1000"})
    try:
        cookie, csrf = sign_in(server.url)
        app_headers = {"Cookie": cookie, "X-CSRFToken": csrf, "Content-Type": "application/json"}
        upstream_headers = {"Authorization": "Bearer sk-bench-not-a-real-key", "Content-Type": "application/json"}
        app_url, upstream_url = f"{server.url}/chatkit", f"{standin.base_url}/responses"
        marker, upstream_marker = b"text_delta", b"response.output_text.delta"
        # Warm-up: each worker's first chat imports the chat libraries and opens its upstream connections.
        asyncio.run(measure(app_url, chat_body("warm up"), app_headers, marker, 8, 3))
        pids = server.worker_pids()
        print(f"first token after {arguments.first_token_ms:g} ms, then {arguments.deltas} deltas "
              f"{arguments.delta_ms:g} ms apart; {arguments.rounds} rounds per row")
        print("| chats | upstream p50 ms | app p50 ms | added p50 ms | added p90 ms | app CPU per chat turn ms |")
        print("|---|---|---|---|---|---|")
        for level in levels:
            upstream = asyncio.run(measure(upstream_url, responses_body("hello"), upstream_headers, upstream_marker,
                                           level, arguments.rounds))
            before = cpu_seconds(pids)
            app = asyncio.run(measure(app_url, chat_body("hello"), app_headers, marker, level, arguments.rounds))
            cpu_ms = (cpu_seconds(pids) - before) * 1000 / len(app)
            base = statistics.median(upstream)
            print(f"| {level} | {base:.1f} | {statistics.median(app):.1f} | {statistics.median(app) - base:+.1f} | "
                  f"{percentile(app, 0.9) - base:+.1f} | {cpu_ms:.1f} |", flush=True)
    finally:
        server.close()
        standin.close()


if __name__ == "__main__":
    main()
