"""Production gunicorn settings, read from the environment (`gunicorn -c gunicorn.conf.py wsgi:app`).

Started by deploy/voice-console.service behind deploy/nginx.conf (docs/deployment.md). Graceful restarts:
`systemctl reload voice-console` sends HUP (new workers with the new code, old ones finish their requests);
TERM stops after at most graceful_timeout.
"""

import json
import os
import shutil
import sys
import tempfile
import time

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core: the app mostly waits on OpenAI, so concurrency comes from threads, not processes.
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Every in-flight mint holds a thread while it waits on OpenAI. bench/bench_mint.py (README "Performance and
# reliability", L = 100 ms, 2 cores), mint at C=64 / 256: gthread 2x64 0.94-0.97 / 0.30; 2x128 and 2x256
# 0.90 / 0.24; 3x32 0.98 / 0.34 but relay 0.54 at C=64; gevent 2x1000 0.95-0.97 / 0.48 (docs/performance.md: why
# it is not the default).
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))  # gevent only
backlog = 2048
keepalive = 5  # below nginx's upstream keepalive_timeout is not needed: nginx retries a closed idle connection
timeout = 60  # longer than OPENAI_TIMEOUT_SECONDS plus retries, so a slow upstream never kills a worker
graceful_timeout = 20
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# The app's ProxyFix (TRUSTED_PROXIES) is the one place that decides whom to believe about the client's
# address and scheme; gunicorn's own X-Forwarded-Proto handling would trust 127.0.0.1 regardless.
forwarded_allow_ips = ""

# Prometheus multiprocess mode: each worker writes its metrics to files in this folder and /metrics adds them
# up. It must be set before a worker imports prometheus_client, i.e. here in the master.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="voice-console-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def check_configuration():
    """Stops the master with the setting's message: otherwise every worker would exit on it and gunicorn would
    boot another, forever. Reads .env next to this file as wsgi.py does (the environment wins), without changing
    the environment the workers inherit."""
    from dotenv import dotenv_values

    from agent.definition import load_agent_file
    from core.clock import SYSTEM_CLOCK
    from core.config import ConfigError, load_settings

    dotenv_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".env")
    environ = {**dotenv_values(dotenv_path), **os.environ}
    try:
        load_settings(environ, today=SYSTEM_CLOCK.today(), agent=load_agent_file(environ))
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


def on_starting(server):
    check_configuration()
    # Files from a previous run would add old counts to the new ones (prometheus_client's documented rule).
    os.makedirs(_metrics_dir, exist_ok=True)
    for name in os.listdir(_metrics_dir):
        path = os.path.join(_metrics_dir, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


class JsonAccessLogger(Logger):
    """One JSON object per request (LOG_FORMAT=json, the default), with the request id the app answered
    with (nginx's $request_id when nginx is in front), so an access line joins the app's and OpenAI's logs."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        headers = dict((name.lower(), value) for name, value in (resp.headers or []))
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "logger": "access",
            "request_id": headers.get("x-request-id"),
            "remote_addr": environ.get("REMOTE_ADDR"),  # the real client's: ProxyFix rewrote it
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(str(resp.status).split()[0]) if resp.status else None,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        self.access_log.info(json.dumps(line))


if os.environ.get("LOG_FORMAT", "json").lower() == "json":
    logger_class = JsonAccessLogger
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request=%({x-request-id}o)s'
