"""Minting Realtime secrets and relaying SDP offers for a signed-in admin."""

from core.errors import bad_request, not_configured
from realtime.session_config import realtime_session_config
from realtime.turn import ice_servers_for

MAX_SDP_BYTES = 64 * 1024


def parse_sdp_offer(content_type, raw):
    if (content_type or "").split(";")[0].strip().lower() != "application/sdp":
        raise bad_request("Send the SDP offer with Content-Type: application/sdp.")
    if len(raw) > MAX_SDP_BYTES:
        raise bad_request(f"The SDP offer is {len(raw):,} bytes; at most {MAX_SDP_BYTES:,} are allowed.")
    try:
        offer = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("The SDP offer is not valid UTF-8 text.") from None
    if not offer.startswith("v=0") or "\nm=" not in offer:
        raise bad_request("The body does not look like an SDP offer (it must start with v=0 and have an m= line).")
    return offer


def _require_key(settings):
    for variable, why in settings.missing_for_voice():
        raise not_configured(variable, why)


def mint_for_admin(settings, client, openai_id, overrides, tools=None):
    """Mints a client secret for the admin OpenAI knows as `openai_id` (g.admin_openai_id); returns (the original envelope's data, the MintedSecret for the activity record).
    `tools`: the agent's Realtime function tools, or None."""
    _require_key(settings)
    session = realtime_session_config(settings, tools=tools, **overrides)
    minted = client.mint_realtime_secret(session, safety_identifier=openai_id)
    data = {
        "token": {"value": minted.value, "expires_at": minted.expires_at},
        "sessionId": minted.session_id,
        "model": session["model"],
        "voice": session["audio"]["output"]["voice"],
        "sdpUrl": settings.realtime_calls_url,
        # Fresh TURN credentials with every secret (TURN_SHARED_SECRET), never a static TURN password.
        "iceServers": ice_servers_for(settings, openai_id),
    }
    return data, minted


def relay_offer_for_admin(settings, client, openai_id, offer, tools=None):
    _require_key(settings)
    session = realtime_session_config(settings, tools=tools)
    return client.relay_sdp_offer(offer, session, safety_identifier=openai_id)
