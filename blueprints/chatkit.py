"""The chat page and ChatKit session minting for the hosted workflow."""

from flask import Blueprint, g, jsonify, render_template, request

from api_errors import bad_request, not_configured
from blueprints.auth import login_required
from extensions import current_settings, mint_limit, openai_client
from realtime_sessions import stable_admin_id

bp = Blueprint("chatkit", __name__)


@bp.get("/admin/chat")
@login_required
def chat_page():
    return render_template("chatkit/chat.html", settings=current_settings())


@bp.post("/api/v1/chatkit/session")
@login_required
@mint_limit
def create_chatkit_session():
    body = request.get_json(silent=True) if request.content_length else None
    if request.content_length and not isinstance(body, dict):
        raise bad_request("The body must be a JSON object, e.g. {\"current\": \"<the expiring client secret>\"}.")
    current = (body or {}).get("current")
    if current is not None and not isinstance(current, str):
        raise bad_request("current must be the expiring client secret, a string.")
    settings = current_settings()
    for variable, why in settings.missing_for_chat():
        raise not_configured(variable, why)
    # ChatKit has no refresh endpoint: a refresh (current given) is simply a new session.
    minted = openai_client().create_chatkit_session(settings.chatkit_agent_id, stable_admin_id(g.admin))
    return jsonify(
        {
            "status": "success",
            "data": {"client_secret": minted.client_secret, "expires_at": minted.expires_at, "sessionId": minted.session_id},
        }
    )
