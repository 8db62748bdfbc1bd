"""Probes for load balancers and orchestrators (/healthz, /readyz) and Prometheus metrics (/metrics)."""

import threading
import time

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import text

from activity import active_voice_sessions
from core.database import database
from core.extensions import current_settings, openai_client
from core.metrics import metrics_allowed, render_metrics
from core.security import plain_http_allowed

bp = Blueprint("health", __name__)

OPENAI_PROBE_TIMEOUT_SECONDS = 2.0
# Probes come every few seconds from every load balancer; OpenAI need not hear from each of them.
OPENAI_PROBE_CACHE_SECONDS = 15.0


@bp.get("/healthz")
@plain_http_allowed
def healthz():
    """Alive: the process answers. Nothing else is checked, so a slow OpenAI never gets the app restarted."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@plain_http_allowed
def readyz():
    """Ready for traffic: configuration complete, database reachable, OpenAI reachable within a short timeout."""
    checks = {"configuration": _configuration_check(), "database": _database_check(), "openai": _openai_check()}
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "not_ready"}
    # Which settings are missing and why the database failed is for operators (the callers /metrics admits).
    if metrics_allowed(current_settings(), request.remote_addr, request.headers.get("Authorization")):
        body["checks"] = checks
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
@plain_http_allowed
def metrics():
    settings = current_settings()
    if not metrics_allowed(settings, request.remote_addr, request.headers.get("Authorization")):
        # 404, not 403: the endpoint's existence is nobody else's business.
        abort(404)
    engine = database()
    body, content_type = render_metrics(settings, lambda: active_voice_sessions(engine))
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


def _configuration_check():
    missing = current_settings().missing_for_voice()
    if missing:
        return {"ok": False, "detail": "; ".join(f"{variable} is not set: {why}" for variable, why in missing)}
    return {"ok": True}


def _database_check():
    try:
        with database().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means not ready; the kind is in the detail
        current_app.logger.warning("readiness: database unreachable: %s", type(error).__name__)
        return {"ok": False, "detail": f"database unreachable ({type(error).__name__})"}
    return {"ok": True}


def _openai_check():
    cache = current_app.extensions.setdefault("openai_probe", {"at": -1e9, "result": None, "lock": threading.Lock()})
    with cache["lock"]:
        if time.monotonic() - cache["at"] > OPENAI_PROBE_CACHE_SECONDS:
            ok, detail = openai_client().check_reachable(OPENAI_PROBE_TIMEOUT_SECONDS)
            cache.update(at=time.monotonic(), result={"ok": ok, "detail": detail})
        return cache["result"]
