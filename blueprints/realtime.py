"""The voice page and the Realtime endpoints: client secrets (ephemeral mode) and the SDP relay (relay mode)."""

from flask import Blueprint, g, jsonify, render_template, request, url_for

from activity import recorded_mint
from api_errors import bad_request
from blueprints.auth import login_required
from extensions import current_settings, mint_limit, openai_client
from realtime_sessions import MAX_SDP_BYTES, mint_for_admin, parse_sdp_offer, parse_session_overrides, relay_offer_for_admin, stable_admin_id
from turn import ice_servers_for

bp = Blueprint("realtime", __name__)


@bp.get("/admin/voice")
@login_required
def voice_page():
    settings = current_settings()
    return render_template("realtime/voice.html", settings=settings, voice=voice_page_options(settings))


def voice_page_options(settings):
    """What static/js/admin-voice.js needs, handed over as data- attributes (no inline script under the CSP)."""
    return {
        "mode": settings.realtime_connect,
        "secret_url": url_for("realtime.create_realtime_session"),
        "calls_url": url_for("realtime.relay_realtime_call"),
        "telemetry_url": "/api/v1/realtime/telemetry",  # the activity blueprint's; a literal so this page never depends on it
        # Relay mode has no mint answer to carry TURN credentials, so the page gets its own (TURN_SHARED_SECRET).
        "ice_servers": ice_servers_for(settings, stable_admin_id(g.admin)),
        "connect_timeout_seconds": settings.voice_connect_timeout_seconds,
        "max_session_minutes": settings.voice_max_session_minutes,
        "prices": settings.realtime_prices,
    }


@bp.post("/api/v1/chatkit/realtime-session")  # the original path, kept so existing clients keep working
@login_required
@mint_limit
def create_realtime_session():
    body = request.get_json(silent=True) if request.content_length else None
    if request.content_length and body is None:
        raise bad_request("The body must be JSON (Content-Type: application/json), e.g. {\"voice\": \"marin\"}.")
    overrides = parse_session_overrides(body)
    settings, client = current_settings(), openai_client()
    data, _minted = recorded_mint("realtime", g.admin, lambda: mint_for_admin(settings, client, g.admin, overrides))
    return jsonify({"status": "success", "data": data})


@bp.post("/api/v1/realtime/calls")
@login_required
@mint_limit
def relay_realtime_call():
    offer = parse_sdp_offer(request.content_type, request.get_data(cache=False)[: MAX_SDP_BYTES + 1])
    settings, client = current_settings(), openai_client()
    call = recorded_mint("relay", g.admin, lambda: relay_offer_for_admin(settings, client, g.admin, offer))
    headers = {"Content-Type": "application/sdp"}
    if call.call_id:
        headers["X-Realtime-Call-Id"] = call.call_id
    return call.answer_sdp, 201, headers
