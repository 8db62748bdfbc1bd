"""The voice page, its status panel and Test connection, and the Realtime endpoints: client secrets (ephemeral mode),
the SDP relay (relay mode) and the page's telemetry."""

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

import activity
from blueprints.auth import login_required
from core.errors import bad_request
from core.extensions import (
    PREPARE_MINT_SCOPE,
    check_admin_limit,
    current_settings,
    limiter,
    mint_limit,
    openai_client,
)
from core.openai_catalog import MAX_INSTRUCTIONS_CHARS, MAX_SESSION_MINUTES
from core.security import no_store
from realtime.minting import (
    MAX_SDP_BYTES,
    mint_for_admin,
    parse_sdp_offer,
    relay_offer_for_admin,
)
from realtime.session_config import is_prepare_request, parse_session_overrides
from realtime.status import run_connection_test, voice_status
from realtime.turn import ice_servers_for

bp = Blueprint("realtime", __name__)


@bp.get("/admin/voice")
@no_store
@login_required
def voice_page():
    settings = current_settings()
    return render_template("realtime/voice.html", settings=settings, voice=voice_page_options(settings))


def voice_page_options(settings):
    """What static/js/admin-voice.js needs, handed over as data- attributes (no inline script under the CSP)."""
    return {
        "mode": settings.realtime.connect,
        "secret_url": url_for("realtime.create_realtime_session"),
        "calls_url": url_for("realtime.relay_realtime_call"),
        "telemetry_url": url_for("realtime.voice_telemetry"),
        # Relay mode has no mint answer to carry TURN credentials, so the page gets its own (TURN_SHARED_SECRET).
        "ice_servers": ice_servers_for(settings, g.admin_openai_id),
        "connect_timeout_seconds": settings.realtime.connect_timeout_seconds,
        "max_session_minutes": settings.realtime.max_session_minutes,
        "openai_session_minutes": MAX_SESSION_MINUTES,
        "max_instructions_chars": MAX_INSTRUCTIONS_CHARS,
        "prices": settings.realtime.prices,
    }


# The seed's path, though it mints a Realtime secret: existing clients post here, so the path stays.
@bp.post("/api/v1/chatkit/realtime-session")
@no_store
@login_required
def create_realtime_session():
    settings = current_settings()
    body = request.get_json(silent=True) if request.content_length else None
    if request.content_length and body is None:
        check_admin_limit("mint", settings.auth.mint_rate_limit)
        raise bad_request("The body must be JSON (Content-Type: application/json), e.g. {\"voice\": \"marin\"}.")
    # A secret the voice page mints ahead of the click ({"prepare": true}) may go unused: it has its own budget
    # of MINT_RATE_LIMIT, so keeping one ready never refuses the admin's clicks, and its own kind in the record.
    prepare = is_prepare_request(body)
    check_admin_limit(PREPARE_MINT_SCOPE if prepare else "mint", settings.auth.mint_rate_limit)
    overrides = parse_session_overrides(body)
    client = openai_client()
    kind = "prepare" if prepare else "realtime"
    data, _minted = activity.recorded_mint(kind, g.admin, lambda: mint_for_admin(settings, client, g.admin_openai_id, overrides))
    return jsonify({"status": "success", "data": data})


@bp.post("/api/v1/realtime/calls")
@no_store
@login_required
@mint_limit
def relay_realtime_call():
    offer = parse_sdp_offer(request.content_type, request.get_data(cache=False)[: MAX_SDP_BYTES + 1])
    settings, client = current_settings(), openai_client()
    call = activity.recorded_mint("relay", g.admin, lambda: relay_offer_for_admin(settings, client, g.admin_openai_id, offer))
    headers = {"Content-Type": "application/sdp"}
    if call.call_id:
        headers["X-Realtime-Call-Id"] = call.call_id
    return call.answer_sdp, 201, headers


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
    result = run_connection_test(current_settings(), openai_client(), g.admin, g.admin_openai_id)
    if not request.headers.get("HX-Request"):
        # Without JavaScript the form posts normally: say the result on the voice page.
        flash(result["summary"], "info" if result["ok"] else "error")
        return redirect(url_for("realtime.voice_page"))
    return render_template("realtime/_test_result.html", result=result)


# A voice page reports about three events an attempt; a page stuck in a loop must not fill the activity record.
TELEMETRY_RATE_LIMIT = "120 per minute"


@bp.post("/api/v1/realtime/telemetry")
@login_required
@limiter.limit(TELEMETRY_RATE_LIMIT)
def voice_telemetry():
    payload = request.get_json(silent=True)
    if payload is None:
        raise bad_request("The body must be JSON (Content-Type: application/json) describing one voice session event.")
    activity.record_voice_event(g.admin, payload)
    return "", 204
