"""The voice page's live status panel (an htmx fragment) and its Test connection button."""

import hashlib
import time

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

import activity
from api_errors import ApiError
from blueprints.auth import login_required
from config import DEFAULT_BASE_URL
from extensions import current_settings, mint_limit, openai_client
from openai_client import mask_secret
from realtime_sessions import mint_for_admin

bp = Blueprint("status", __name__)
INSTRUCTIONS_EXCERPT_CHARS = 120


def voice_status(settings, admin):
    """Everything the status panel shows; `version` changes whenever anything shown changes."""
    instructions = settings.realtime_instructions or ""
    if settings.sandbox:
        upstream = "Sandbox"
    elif settings.openai_base_url == DEFAULT_BASE_URL:
        upstream = "OpenAI"
    else:
        upstream = f"OpenAI-compatible server at {settings.openai_base_url}"
    status = {
        "connect_mode": settings.realtime_connect,
        "model": settings.realtime_model,
        "voice": settings.realtime_voice,
        "modalities": ", ".join(settings.realtime_output_modalities),
        "instructions_excerpt": (
            instructions[:INSTRUCTIONS_EXCERPT_CHARS] + "…" if len(instructions) > INSTRUCTIONS_EXCERPT_CHARS else instructions
        ),
        "masked_key": mask_secret(settings.openai_api_key),
        "upstream": upstream,
        "missing": settings.missing_for_voice(),
        "last_mint": activity.last_mint(admin),
    }
    status["version"] = hashlib.sha256(repr(sorted(status.items())).encode()).hexdigest()[:16]
    return status


@bp.app_template_global()
def current_voice_status():
    """For the voice page's first paint: `{% include "realtime/_status_panel.html" %}` needs no view changes."""
    return voice_status(current_settings(), g.admin)


@bp.get("/admin/voice/status")
@login_required
def status_fragment():
    status = voice_status(current_settings(), g.admin)
    # htmx sends the version it shows; nothing changed means 204, which htmx does not swap, so screen
    # readers don't re-read an identical aria-live panel every few seconds.
    if request.args.get("version") == status["version"]:
        return "", 204
    return render_template("realtime/_status.html", status=status)


@bp.post("/admin/voice/test-connection")
@login_required
@mint_limit
def test_connection():
    result = run_connection_test(current_settings(), g.admin)
    if not request.headers.get("HX-Request"):
        # Without JavaScript the form posts normally: say the result on the voice page.
        flash(result["summary"], "info" if result["ok"] else "error")
        return redirect(url_for("realtime.voice_page"))
    return render_template("realtime/_test_result.html", result=result)


def run_connection_test(settings, admin):
    """Mints a secret through the mint endpoint's own code path, records it as a test, and forgets the secret."""
    client = openai_client()
    started = time.perf_counter()
    try:
        _data, minted = activity.recorded_mint("test", admin, lambda: mint_for_admin(settings, client, admin, {}))
    except ApiError as error:
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = getattr(error, "request_id", None)
        return {
            "ok": False, "latency_ms": latency_ms, "request_id": request_id, "code": error.code,
            "message": error.message,
            "summary": f"Test connection failed after {latency_ms:.0f} ms ({error.code}): {error.message}",
        }
    return {
        "ok": True, "latency_ms": minted.latency_ms, "request_id": minted.request_id, "code": None, "message": None,
        "summary": f"Test connection minted a secret in {minted.latency_ms:.0f} ms"
        + (f" (request id {minted.request_id})." if minted.request_id else "."),
    }
