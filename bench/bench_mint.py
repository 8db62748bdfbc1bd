"""Mint and relay benchmark: the app under gunicorn against a stand-in OpenAI with a fixed latency L, at
C concurrent clients, each figure a ratio to the harness ceiling (the same load on the stand-in alone).

    .venv/bin/python -m bench.bench_mint                      # production settings, mint and relay
    .venv/bin/python -m bench.bench_mint --alternatives       # also sync, gthread thread counts, gevent
    .venv/bin/python -m bench.bench_mint --models gthread:2:128,gevent:2:1000 --concurrency 64,256
    .venv/bin/python -m bench.bench_mint --reference          # also a bare WSGI route: this machine's floor

The one benchmark admin signs in once and every connection shares its cookie and CSRF token;
MINT_RATE_LIMIT is set to 1000000 per minute, or the per-admin limit would refuse all but 20 mints.
Each request goes through everything a real mint does: session, CSRF, rate limit, the upstream call and
the activity record (SQLite under a temporary folder).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

from harness.load import (
    API_KEY,
    ENDPOINTS,
    ROOT,
    STANDIN_BODIES,
    AppServer,
    ServerModel,
    StandInProcess,
    free_port,
    run_load,
    run_load_counting_cpu,
    sign_in,
    stop,
    wait_for_port,
    worker_pids,
)

ALTERNATIVES = ["sync:2", "gthread:2:16", "gthread:2:64", "gthread:2:128", "gthread:2:256", "gevent:2:1000"]
TARGETS = {1: "p50 added <= 2 ms, p99 added <= 5 ms", 64: ">= 0.97 of ceiling, no errors",
           256: ">= 0.80 of ceiling, no errors"}


def measure_ceiling(standin, endpoint, concurrency, seconds):
    _, upstream_path, content_type, _ = ENDPOINTS[endpoint]
    if endpoint == "relay":
        content_type = "application/sdp"  # the browser's direct form of the same call
    url = standin.base_url.removesuffix("/v1") + upstream_path
    load = dict(content_type=content_type, body=STANDIN_BODIES[endpoint], authorization=f"Bearer {API_KEY}")
    run_load(url, concurrency=concurrency, seconds=1, **load)  # warm-up
    return run_load(url, concurrency=concurrency, seconds=seconds, **load)


def measure_app(standin, endpoint, model, levels, seconds, extra_env=None):
    path, _, content_type, body = ENDPOINTS[endpoint]
    server = AppServer(standin.base_url, model, extra_env=extra_env,
                       connect_mode="relay" if endpoint == "relay" else "ephemeral")
    try:
        cookie, csrf = sign_in(server.url)
        load = dict(content_type=content_type, body=body, cookie=cookie, csrf=csrf)
        # Warm-up: thread pools, connection pools, and each worker's background import of the chat libraries
        # (a few seconds of CPU after a worker starts, which would otherwise land in the first figures).
        return measure_levels(server.url + path, server.worker_pids(), standin, levels, seconds, warm_up=4, **load)
    finally:
        log = server.log()
        server.close()
        if "Traceback" in log:
            print(f"  ! the server logged a traceback:\n{log[-2000:]}", file=sys.stderr)


def measure_levels(url, server_pids, standin, levels, seconds, warm_up, **load):
    """A warm-up, then one measurement per concurrency level (each after a second at that level)."""
    run_load(url, concurrency=levels[0], seconds=warm_up, **load)
    results = {}
    for concurrency in levels:
        run_load(url, concurrency=concurrency, seconds=1, **load)
        results[concurrency] = run_load_counting_cpu(url, server_pids, standin.process.pid,
                                                     concurrency=concurrency, seconds=seconds, **load)
    return results


def measure_reference(standin, model, levels, seconds):
    """bench/reference_app.py (bare WSGI, http.client) under the same worker model, load and stand-in."""
    port = free_port()
    concurrency_flag = "--worker-connections" if model.worker_class == "gevent" else "--threads"
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--chdir", str(ROOT / "bench"), "-b", f"127.0.0.1:{port}",
         "-k", model.worker_class, "-w", str(model.workers), concurrency_flag, str(model.threads), "reference_app:app"],
        env={**os.environ, "REFERENCE_UPSTREAM_PORT": str(standin.port)},
        # Started from bench/, so gunicorn does not pick up the app's gunicorn.conf.py (and its configuration check).
        cwd=ROOT / "bench", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        return measure_levels(f"http://127.0.0.1:{port}/", worker_pids(server.pid), standin, levels, seconds, warm_up=2,
                              content_type="application/json", body=b"{}")
    finally:
        stop(server)


def row(label, concurrency, ceiling, result):
    ratio = result.rate / ceiling.rate if ceiling.rate else 0.0
    if not result.requests:  # nothing finished within the run: no latency to compare
        return f"| {label} | {concurrency} | {ceiling.rate:.1f} | 0 | 0 | n/a | n/a | {result.errors} {result.error_detail} | | |"
    return (f"| {label} | {concurrency} | {ceiling.rate:.1f} | {result.rate:.1f} | {ratio:.3f} | "
            f"{result.p50_ms - ceiling.p50_ms:+.2f} | {result.p99_ms - ceiling.p99_ms:+.2f} | "
            f"{result.errors}{' (' + result.error_detail + ')' if result.errors else ''} | "
            f"{result.server_cpu_ms:.2f} | {result.standin_cpu_ms:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0, help="the stand-in's fixed latency L")
    parser.add_argument("--concurrency", default="1,16,64,256")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--endpoints", default="mint,relay")
    parser.add_argument("--models", default="", help="worker models, e.g. gthread:2:128,gevent:2:1000; "
                                                     "empty: gunicorn.conf.py's own defaults")
    parser.add_argument("--alternatives", action="store_true", help=f"also try {', '.join(ALTERNATIVES)}")
    parser.add_argument("--reference", action="store_true",
                        help="also time bench/reference_app.py, a bare WSGI token route, under each worker model")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    models = [None] + [ServerModel.parse(text) for text in args.models.split(",") if text]
    if args.models:
        models = models[1:]
    if args.alternatives:
        models += [ServerModel.parse(text) for text in ALTERNATIVES]
    load_generator = "wrk (1 thread)" if shutil.which("wrk") else "asyncio aiohttp client (install wrk for better)"
    print(f"# L = {args.latency_ms:g} ms, {os.cpu_count()} cores, {args.seconds} s per figure, load: {load_generator}")
    print("# added p50/p99 = app latency minus the ceiling run's latency at the same C; CPU = user + system time of the")
    print("# server's workers and of the stand-in, per finished request (both share the machine with the load)\n")

    standin = StandInProcess(args.latency_ms)
    try:
        for endpoint in args.endpoints.split(","):
            ceilings = {level: measure_ceiling(standin, endpoint, level, args.seconds) for level in levels}
            print(f"## {endpoint}: {ENDPOINTS[endpoint][0]}")
            print("| server | C | ceiling req/s | achieved req/s | ratio | added p50 ms | added p99 ms | errors "
                  "| server CPU ms/req | stand-in CPU ms/req |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for model in models:
                label = model.label if model else "gunicorn.conf.py defaults"
                started = time.monotonic()
                results = measure_app(standin, endpoint, model, levels, args.seconds)
                for level in levels:
                    print(row(label, level, ceilings[level], results[level]), flush=True)
                print(f"<!-- {label}: {time.monotonic() - started:.0f} s -->", flush=True)
                if args.reference and endpoint == "mint":
                    reference_model = model or ServerModel("gthread", os.cpu_count() or 2, 64)
                    results = measure_reference(standin, reference_model, levels, args.seconds)
                    for level in levels:
                        print(row(f"reference app, {reference_model.label}", level, ceilings[level], results[level]),
                              flush=True)
            print()
        print("# targets: " + "; ".join(f"C={level}: {target}" for level, target in TARGETS.items()))
    finally:
        standin.close()


if __name__ == "__main__":
    main()
