"""Prometheus metrics: mints, upstream latency, voice connect outcomes and times, active voice sessions, tool calls.

Under gunicorn every worker is its own process; gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before the
workers import this module, so prometheus_client writes each value to a file there and /metrics adds the
workers' files up (prometheus_client's multiprocess mode). Without it (flask run, tests) values live in memory.
"""

import hmac
import ipaddress
import logging

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from core.openai_catalog import MAX_SESSION_MINUTES

log = logging.getLogger(__name__)

# OpenAI answers a mint in ~100-500 ms; the upper buckets catch retries and timeouts (10 s read timeout).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Click to "connected" in the browser: ~0.1 s on loopback, a few seconds through TURN on a bad network.
CONNECT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)

MINTS = Counter("voice_console_mints_total", "Secrets and sessions minted, by kind and outcome", ["kind", "outcome"])
UPSTREAM_SECONDS = Histogram(
    "voice_console_upstream_request_seconds", "Time OpenAI took to answer one HTTP request",
    ["endpoint", "status"], buckets=LATENCY_BUCKETS,
)
VOICE_CONNECTS = Counter(
    "voice_console_voice_connects_total", "Voice connection attempts reported by browsers, by mode and outcome",
    ["mode", "outcome"],
)
CONNECT_SECONDS = Histogram(
    "voice_console_voice_connect_seconds", "Time from the admin's click to a connected voice session",
    ["mode"], buckets=CONNECT_BUCKETS,
)
# A platform API answers in tens of milliseconds; the top buckets are tool timeouts (10 s default, at most 300 s).
TOOL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
TOOL_CALLS = Counter(
    "voice_console_tool_calls_total", "Agent tool calls run on the server, by channel (voice, chat), tool and outcome "
    "(ok or the error code)", ["channel", "tool", "outcome"],
)
TOOL_SECONDS = Histogram(
    "voice_console_tool_call_seconds", "Time one agent tool call took on the server", ["channel", "tool"],
    buckets=TOOL_BUCKETS,
)


def count_mint(kind, outcome):
    MINTS.labels(kind=kind, outcome=outcome).inc()


def count_tool_call(channel, tool, outcome, seconds=None):
    """outcome: ok, or the error code (unknown_tool, invalid_arguments, approval_required, tool_failed, ...)."""
    TOOL_CALLS.labels(channel=channel, tool=tool, outcome=outcome).inc()
    if seconds is not None:
        TOOL_SECONDS.labels(channel=channel, tool=tool).observe(seconds)


def observe_upstream(path, status, seconds):
    """status: the HTTP status code, or a word (timeout, unreachable) when there was no answer."""
    UPSTREAM_SECONDS.labels(endpoint=path, status=str(status)).observe(seconds)


def count_voice_event(mode, event, connect_ms=None):
    if event not in ("connected", "failed"):
        return  # "ended" is neither: the attempt's outcome was already counted
    VOICE_CONNECTS.labels(mode=mode, outcome=event).inc()
    if event == "connected" and connect_ms is not None:
        CONNECT_SECONDS.labels(mode=mode).observe(connect_ms / 1000)


class ActiveSessionsCollector:
    """Active voice sessions, counted from the activity record at scrape time by `count()`: right across workers
    and instances, and across restarts, which a per-process gauge would not be."""

    def __init__(self, count):
        self.count = count

    def collect(self):
        gauge = GaugeMetricFamily(
            "voice_console_active_voice_sessions",
            f"Voice sessions connected and not yet ended (browsers report both), over the last {MAX_SESSION_MINUTES} minutes",
        )
        try:
            gauge.add_metric([], self.count())
        except Exception:  # noqa: BLE001 - a scrape must still answer with the other metrics
            log.exception("could not count active voice sessions")
            return
        yield gauge


def render_metrics(settings, count_active_sessions):
    """The Prometheus text exposition: (body, content type). `count_active_sessions()` reads the activity record."""
    if settings.metrics.multiproc_dir:
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers, path=settings.metrics.multiproc_dir)
        body = generate_latest(workers)
    else:
        body = generate_latest(REGISTRY)
    # A fresh registry per scrape, so each app (tests build many) counts from its own database.
    database_figures = CollectorRegistry()
    database_figures.register(ActiveSessionsCollector(count_active_sessions))
    return body + generate_latest(database_figures), CONTENT_TYPE_LATEST


def metrics_allowed(settings, remote_address, authorization):
    """Prometheus may scrape from an allowed address, or from anywhere with the bearer token."""
    if settings.metrics.token and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics.token.encode()):
            return True
    try:
        address = ipaddress.ip_address(remote_address or "")
    except ValueError:
        return False
    return any(address in network for network in settings.metrics.allow)
