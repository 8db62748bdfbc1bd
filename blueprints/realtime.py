"""The voice page and the Realtime endpoints: client secrets (ephemeral mode) and the SDP relay (relay mode)."""

from flask import Blueprint, g, jsonify, render_template, request

from api_errors import bad_request
from blueprints.auth import login_required
from extensions import current_settings, mint_limit, openai_client
from realtime_sessions import MAX_SDP_BYTES, mint_for_admin, parse_sdp_offer, parse_session_overrides, relay_offer_for_admin

bp = Blueprint("realtime", __name__)


@bp.get("/admin/voice")
@login_required
def voice_page():
    return render_template("realtime/voice.html", settings=current_settings())


@bp.post("/api/v1/chatkit/realtime-session")  # the original path, kept so existing clients keep working
@login_required
@mint_limit
def create_realtime_session():
    body = request.get_json(silent=True) if request.content_length else None
    if request.content_length and body is None:
        raise bad_request("The body must be JSON (Content-Type: application/json), e.g. {\"voice\": \"marin\"}.")
    overrides = parse_session_overrides(body)
    data = mint_for_admin(current_settings(), openai_client(), g.admin, overrides)
    return jsonify({"status": "success", "data": data})


@bp.post("/api/v1/realtime/calls")
@login_required
@mint_limit
def relay_realtime_call():
    offer = parse_sdp_offer(request.content_type, request.get_data(cache=False)[: MAX_SDP_BYTES + 1])
    call = relay_offer_for_admin(current_settings(), openai_client(), g.admin, offer)
    headers = {"Content-Type": "application/sdp"}
    if call.call_id:
        headers["X-Realtime-Call-Id"] = call.call_id
    return call.answer_sdp, 201, headers
