"""The voice page, its status panel and Test connection, and the Realtime endpoints: client secrets (ephemeral mode),
the SDP relay (relay mode), the voice agent's tool calls (run on the server) and the page's telemetry."""

import logging
import time

from flask import (
    Blueprint,
    current_app,
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
from core.body_schema import BodySchema
from core.clock import current_clock
from core.database import database
from core.errors import ApiError, bad_request
from core.extensions import (
    PREPARE_MINT_SCOPE,
    agent_tools,
    check_admin_limit,
    current_settings,
    limiter,
    mint_limit,
    openai_client,
    tool_limit,
)
from core.openai_catalog import MAX_INSTRUCTIONS_CHARS, MAX_SESSION_MINUTES, realtime_price_source
from core.security import no_store
from realtime.minting import (
    MAX_SDP_BYTES,
    mint_for_admin,
    parse_sdp_offer,
    relay_offer_for_admin,
)
from realtime.session_config import is_prepare_request, parse_session_overrides
from realtime.status import run_connection_test, voice_status
from realtime.tool_approvals import run_relayed_call
from realtime.turn import ice_servers_for

log = logging.getLogger(__name__)
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
        # With an agent file the session carries its tools; the page posts each function call the model makes here.
        "tool_calls_url": url_for("realtime.run_tool_call") if agent_tools() is not None else "",
        # Tools with confirm = true: the server answers approval_required with a one-time approval id; the page asks
        # the admin, then posts the call again with that id.
        "approval_tools": _approval_tools(),
        # Relay mode has no mint answer to carry TURN credentials, so the page gets its own (TURN_SHARED_SECRET).
        "ice_servers": ice_servers_for(settings, g.admin_openai_id),
        "connect_timeout_seconds": settings.realtime.connect_timeout_seconds,
        "max_session_minutes": settings.realtime.max_session_minutes,
        "openai_session_minutes": MAX_SESSION_MINUTES,
        "max_instructions_chars": MAX_INSTRUCTIONS_CHARS,
        "prices": settings.realtime.prices,
        "price_source": realtime_price_source(settings.realtime.model),
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
    tools = _session_tools()
    data, _minted = activity.recorded_mint(
        kind, g.admin, lambda: mint_for_admin(settings, client, g.admin_openai_id, overrides, tools)
    )
    return jsonify({"status": "success", "data": data})


@bp.post("/api/v1/realtime/calls")
@no_store
@login_required
@mint_limit
def relay_realtime_call():
    offer = parse_sdp_offer(request.content_type, request.get_data(cache=False)[: MAX_SDP_BYTES + 1])
    settings, client = current_settings(), openai_client()
    tools = _session_tools()
    call = activity.recorded_mint(
        "relay", g.admin, lambda: relay_offer_for_admin(settings, client, g.admin_openai_id, offer, tools)
    )
    headers = {"Content-Type": "application/sdp"}
    if call.call_id:
        headers["X-Realtime-Call-Id"] = call.call_id
    return call.answer_sdp, 201, headers


def _approval_tools():
    tools = agent_tools()
    if tools is None:
        return []
    return [spec["name"] for spec in tools.function_tools(g.admin_roles) if tools.needs_approval(spec["name"])]


def _session_tools():
    """The agent's Realtime function tools the signed-in admin's roles allow, for a new voice session, or None
    without AGENT_FILE."""
    tools = agent_tools()
    return tools.function_tools(g.admin_roles) if tools is not None else None


MAX_CALL_ID_CHARS = 200
MAX_APPROVAL_ID_CHARS = 100
TOOL_CALL_EXAMPLE = '{"name": "list_failed_pipelines", "arguments": "{}", "call_id": "call_123"}'
TOOL_CALL = BodySchema({
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "arguments", "call_id"],
    "properties": {
        "name": {"type": "string", "pattern": r"\S",
                 "message": "name must be the tool's name as the model called it, a non-empty string."},
        "arguments": {"type": "string", "message": "arguments must be the JSON text the model produced (a string such "
                      "as \"{}\"), exactly as in the function call's arguments."},
        "call_id": {"type": "string", "minLength": 1, "maxLength": MAX_CALL_ID_CHARS, "message": "call_id must be the "
                    f"function call's call_id, a string of 1 to {MAX_CALL_ID_CHARS} characters."},
        "approval_id": {"type": "string", "minLength": 1, "maxLength": MAX_APPROVAL_ID_CHARS, "message": (
            "approval_id must be the id an approval_required answer gave for this call (a string).")},
        # Still accepted, so an older page gets approval_required rather than bad_request, but it no longer counts:
        # only an approval id the server handed out for this very call does (realtime/tool_approvals.py).
        "approved": {"type": "boolean", "message": "approved must be true or false; it no longer approves anything: "
                     "send the approval_id the server gave with approval_required."},
    },
    "message": {
        "type": f"The body must be a JSON object (Content-Type: application/json) such as {TOOL_CALL_EXAMPLE}.",
        "additionalProperties": "Unknown field '{field}': a tool call carries only name, arguments, call_id, "
                                "approval_id, approved.",
    },
})


@bp.post("/api/v1/realtime/tool-calls")
@login_required
@tool_limit
def run_tool_call():
    """Runs one function call the voice model made (the page relays it from the data channel) on the server, with
    the agent file's credentials, and answers the output the page sends back as function_call_output."""
    call = parse_tool_call(request.get_json(silent=True))
    tools = agent_tools()
    if tools is None:
        raise ApiError(409, "no_agent_file", "This console has no agent file (AGENT_FILE is not set), so the voice "
                       "agent has no tools to run. Set AGENT_FILE to a TOML agent file (docs/agent.md) and restart.")
    started = time.perf_counter()
    try:
        result = run_relayed_call(tools, database(), g.admin_id, g.admin_roles, call, current_clock().now().timestamp())
    except ApiError as error:
        activity.record_tool_call(current_app._get_current_object(), g.admin, "voice", call["name"],
                                  _elapsed_ms(started), call["call_id"], error.code, g.admin_roles)
        raise
    activity.record_tool_call(current_app._get_current_object(), g.admin, "voice", call["name"], result.ms,
                              call["call_id"], roles=g.admin_roles)
    return jsonify({"status": "success", "data": {"output": result.output, "ms": round(result.ms, 1),
                                                  "callId": call["call_id"]}})


def parse_tool_call(body):
    """The checked body of a tool call: {name, arguments (the model's JSON text), call_id, approval_id (or None)}."""
    TOOL_CALL.check(body)
    return {"name": body["name"].strip(), "arguments": body["arguments"], "call_id": body["call_id"],
            "approval_id": body.get("approval_id")}


def _elapsed_ms(started):
    return (time.perf_counter() - started) * 1000


@bp.app_template_global()
def current_voice_status():
    """For the voice page's first paint: `{% include "realtime/_status_panel.html" %}` needs no view changes."""
    return voice_status(current_settings(), g.admin, agent_tools(), g.admin_roles)


@bp.get("/admin/voice/status")
@login_required
def status_fragment():
    status = voice_status(current_settings(), g.admin, agent_tools(), g.admin_roles)
    # htmx sends the version it shows; nothing changed means 204, which htmx does not swap, so screen
    # readers don't re-read an identical aria-live panel every few seconds.
    if request.args.get("version") == status["version"]:
        return "", 204
    return render_template("realtime/_status.html", status=status)


# Each refresh opens a session to every MCP server: a few a minute is plenty for a person.
REFRESH_TOOLS_RATE_LIMIT = "20 per minute"


@bp.post("/admin/voice/refresh-tools")
@login_required
@limiter.limit(REFRESH_TOOLS_RATE_LIMIT)
def refresh_tools():
    """Lists the agent's MCP servers' tools again now (a server that was down joins once it answers) and answers the
    status panel fragment; without JavaScript, back to the voice page with the outcome."""
    tools = agent_tools()
    if tools is not None:
        problems = tools.refresh()
        log.info("tools refreshed by %s: %d tools, %d MCP server(s) missing", g.admin, len(tools.listed()), len(problems))
    message = "Tools refreshed." if tools is not None else "There is no agent file (AGENT_FILE), so no tools to refresh."
    return _fragment_or_flash(message, "info", "realtime/_status.html",
                              status=voice_status(current_settings(), g.admin, tools, g.admin_roles))


@bp.post("/admin/voice/test-connection")
@login_required
@mint_limit
def test_connection():
    result = run_connection_test(current_settings(), openai_client(), g.admin, g.admin_openai_id)
    return _fragment_or_flash(result["summary"], "info" if result["ok"] else "error", "realtime/_test_result.html",
                              result=result)


def _fragment_or_flash(message, category, template, **context):
    """The answer to a status panel form: htmx swaps in the fragment; posted without JavaScript, the form gets the
    outcome said on the voice page (flashed, then redirected there)."""
    if request.headers.get("HX-Request"):
        return render_template(template, **context)
    flash(message, category)
    return redirect(url_for("realtime.voice_page"))


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
