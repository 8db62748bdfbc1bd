"""Soak: C concurrent minting clients against the app under gunicorn for N minutes; errors, memory and open
file descriptors of the gunicorn processes reported per slice, start and end.

    .venv/bin/python -m bench.soak --minutes 5          # the full soak (64 clients, L = 100 ms)
    make soak                                           # the same
"""

import argparse
import sys

from harness.load import (
    ENDPOINTS,
    AppServer,
    StandInProcess,
    memory_and_files,
    run_load,
    sign_in,
)


def soak(minutes, concurrency, latency_ms, slice_seconds=30, report=print):
    """Runs the soak; returns (start, end, requests, errors) with start/end as (MiB, fds) after the first slice."""
    path, _, content_type, body = ENDPOINTS["mint"]
    standin = StandInProcess(latency_ms)
    server = AppServer(standin.base_url)
    try:
        cookie, csrf = sign_in(server.url)
        load = dict(content_type=content_type, body=body, cookie=cookie, csrf=csrf)
        slices = max(2, round(minutes * 60 / slice_seconds))
        seconds = max(1, round(minutes * 60 / slices))
        total, errors, start = 0, 0, None
        report(f"# soak: {concurrency} clients, L = {latency_ms:g} ms, {slices} slices of {seconds} s")
        report("| slice | req/s | errors | gunicorn RSS MiB | open fds |")
        report("|---|---|---|---|---|")
        for number in range(1, slices + 1):
            result = run_load(server.url + path, concurrency=concurrency, seconds=seconds, **load)
            memory, fds = memory_and_files([server.process.pid, *server.worker_pids()])
            start = start or (memory, fds)
            total, errors = total + result.requests, errors + result.errors
            report(f"| {number} | {result.rate:.1f} | {result.errors} {result.error_detail} | {memory:.1f} | {fds} |")
        end = (memory, fds)
        report(f"# {total} mints, {errors} errors; after slice 1: {start[0]:.1f} MiB, {start[1]} fds; "
               f"at the end: {end[0]:.1f} MiB, {end[1]} fds")
        return start, end, total, errors
    finally:
        server.close()
        standin.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--slice-seconds", type=int, default=30)
    args = parser.parse_args()
    _, _, _, errors = soak(args.minutes, args.concurrency, args.latency_ms, args.slice_seconds,
                           report=lambda line: print(line, flush=True))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
