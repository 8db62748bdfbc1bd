"""`python -m sandbox --host 127.0.0.1 --port 0 [--loopback-ice]`: runs the local Realtime sandbox until stopped."""

import argparse
import asyncio
import logging
import signal

from aiohttp import web

from core.openai_catalog import MAX_SESSION_MINUTES
from sandbox.server import create_sandbox_app


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--loopback-ice", action="store_true",
                        help="offer 127.0.0.1 as an ICE candidate (for test runners whose only network is loopback)")
    parser.add_argument("--answer-audio", choices=("auto", "tone"), default="auto",
                        help="auto: espeak-ng speech when installed, else a tone (default); tone: always a tone")
    parser.add_argument("--max-session-seconds", type=float, default=MAX_SESSION_MINUTES * 60,
                        help=f"end sessions with error session_expired after this long (OpenAI: {MAX_SESSION_MINUTES} minutes)")
    parser.add_argument("--log-level", default="WARNING", help="Python logging level (default WARNING)")
    return parser.parse_args(argv)


async def serve(arguments):
    app = create_sandbox_app(answer_audio=arguments.answer_audio, max_session_seconds=arguments.max_session_seconds)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, arguments.host, arguments.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"sandbox listening on http://{shown_host}:{port}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()  # closes every peer connection (on_shutdown) before the loop ends


def main(argv=None):
    arguments = parse_arguments(argv)
    logging.basicConfig(level=arguments.log_level.upper(), format="sandbox %(levelname)s %(name)s: %(message)s")
    if arguments.loopback_ice:
        from sandbox.loopback_ice import offer_loopback_candidates

        offer_loopback_candidates()
    asyncio.run(serve(arguments))
    # Stopped cleanly; a second Ctrl-C or SIGTERM (make run sends both) must not turn the exit into a kill.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":
    main()
