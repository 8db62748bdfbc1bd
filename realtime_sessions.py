"""Minting Realtime secrets and relaying SDP offers for a signed-in admin, and validating what they ask for."""

import hashlib

from api_errors import bad_request, not_configured
from config import ConfigError, check_realtime_voice
from openai_catalog import MAX_INSTRUCTIONS_CHARS
from openai_client import realtime_session_config
from turn import ice_servers_for

OVERRIDE_FIELDS = ("voice", "instructions")
MAX_SDP_BYTES = 64 * 1024


def stable_admin_id(username):
    """A stable, non-reversible id for an admin, sent to OpenAI as the safety identifier and ChatKit user."""
    return "admin_" + hashlib.sha256(f"voice-console:{username}".encode()).hexdigest()[:32]


def parse_session_overrides(body):
    """The admin's optional voice/instructions overrides, checked by the same rules as the configuration."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object such as {\"voice\": \"marin\"}.")
    unknown = sorted(set(body) - set(OVERRIDE_FIELDS))
    if unknown:
        raise bad_request(f"Unknown field '{unknown[0]}': a session request may carry only voice and instructions.")
    overrides = {}
    if body.get("voice") is not None:
        if not isinstance(body["voice"], str):
            raise bad_request("voice must be a string such as \"marin\".")
        try:
            overrides["voice"] = check_realtime_voice(body["voice"].strip().lower(), variable="voice")
        except ConfigError as error:
            raise bad_request(str(error)) from None
    if body.get("instructions") is not None:
        instructions = body["instructions"]
        if not isinstance(instructions, str):
            raise bad_request("instructions must be a string.")
        if len(instructions) > MAX_INSTRUCTIONS_CHARS:
            raise bad_request(f"instructions are {len(instructions):,} characters; at most {MAX_INSTRUCTIONS_CHARS:,} are allowed.")
        overrides["instructions"] = instructions
    return overrides


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


def mint_for_admin(settings, client, admin, overrides):
    """Mints a client secret; returns (the original envelope's data, the MintedSecret for the activity record)."""
    _require_key(settings)
    session = realtime_session_config(settings, **overrides)
    minted = client.mint_realtime_secret(session, safety_identifier=stable_admin_id(admin))
    data = minted_envelope_data(settings, session, minted)
    # Fresh TURN credentials with every secret (TURN_SHARED_SECRET), never a static TURN password.
    data["iceServers"] = ice_servers_for(settings, stable_admin_id(admin))
    return data, minted


def minted_envelope_data(settings, session, minted):
    return {
        "token": {"value": minted.value, "expires_at": minted.expires_at},
        "sessionId": minted.session_id,
        "model": session["model"],
        "voice": session["audio"]["output"]["voice"],
        "sdpUrl": settings.realtime_calls_url,
        "iceServers": list(settings.ice_servers),
    }


def relay_offer_for_admin(settings, client, admin, offer):
    _require_key(settings)
    return client.relay_sdp_offer(offer, realtime_session_config(settings), safety_identifier=stable_admin_id(admin))
