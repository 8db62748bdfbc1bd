"""The chat page, ChatKit session minting for the hosted workflow, and the self-hosted /chatkit endpoint."""

import ipaddress

import click
from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from activity import recorded_mint
from blueprints import chat_view
from blueprints.auth import login_required
from chat import chat_service, hosted
from chat.transcripts import ENTRY_ID_PATTERN, TranscriptEntry
from core.admins import AdminFileError, find_admin, legacy_admin_id, stable_admin_id
from core.body_schema import BodySchema
from core.clock import current_clock
from core.errors import ApiError, not_configured
from core.extensions import (
    chat_limit,
    current_settings,
    mint_limit,
    openai_client,
    transcript_limit,
)
from core.security import no_store

bp = Blueprint("chatkit", __name__)

# Any non-empty domain key is accepted on localhost; elsewhere the widget needs the real one (docs/chat.md).
LOCALHOST_DOMAIN_KEY = "domain_pk_localhost_dev"
MAX_TRANSCRIPT_ENTRIES = 200
MAX_TRANSCRIPT_CHARS = 10_000
TRANSCRIPT_EXAMPLE = '{"threadId": null, "entries": [{"role": "user", "text": "...", "id": "item_123"}]}'
TRANSCRIPT_REQUEST = BodySchema({
    "type": "object",
    "additionalProperties": False,
    "required": ["entries"],
    "properties": {
        "threadId": {"type": ["string", "null"], "pattern": ENTRY_ID_PATTERN,
                     "message": "threadId must be a thread id such as thr_1a2b3c4d, or null for the current thread."},
        "entries": {
            "type": "array", "minItems": 1, "maxItems": MAX_TRANSCRIPT_ENTRIES,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["role", "text"],
                "properties": {
                    "role": {"enum": ["user", "assistant"],
                             "message": "{at} must be user (the admin's speech) or assistant (the voice agent)."},
                    "text": {"type": "string", "pattern": r"\S", "maxLength": MAX_TRANSCRIPT_CHARS,
                             "message": f"{{at}} must be non-empty text of at most {MAX_TRANSCRIPT_CHARS:,} characters."},
                    "id": {"type": ["string", "null"], "pattern": ENTRY_ID_PATTERN,
                           "message": "{at} must be 1-64 letters, digits, _ or - (e.g. the Realtime item id)."},
                },
                "message": "{at} must be an object with role, text and an optional id.",
            },
            "message": f"entries must be a list of 1 to {MAX_TRANSCRIPT_ENTRIES} transcript lines, e.g. {TRANSCRIPT_EXAMPLE}.",
        },
    },
    "message": f"The body must be a JSON object like {TRANSCRIPT_EXAMPLE}.",
})
# How long the page waits for OpenAI's script: CHAT_UI=chatkit says why it failed after the longer wait, auto switches
# to the native view after the shorter one (a script that cannot be fetched at all fails at once either way).
SCRIPT_TIMEOUT_MS = {"chatkit": 15_000, "auto": 4_000}


def is_local_host(host):
    """localhost, *.localhost or a loopback address, with or without a port (the Host header)."""
    name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@bp.get("/admin/chat")
@login_required
def chat_page():
    settings = current_settings()
    if settings.chat.ui == "native":
        return chat_view.current_thread_page()
    self_hosted = settings.chat.mode == "self-hosted"
    domain_key = settings.chat.domain_key or (LOCALHOST_DOMAIN_KEY if is_local_host(request.host) else None)
    current_thread = chat_service().current_thread(g.admin_id) if self_hosted else None
    return render_template(
        "chatkit/chat.html", settings=settings, self_hosted=self_hosted, domain_key=domain_key,
        current_thread=current_thread, script_timeout_ms=SCRIPT_TIMEOUT_MS[settings.chat.ui],
        # Hosted threads live at OpenAI: the native view cannot show them, so there is nothing to switch to.
        native_fallback=settings.chat.ui == "auto" and self_hosted,
        agent_builder={"shutdown": hosted.AGENT_BUILDER_SHUTDOWN,
                       "shut_down": hosted.agent_builder_has_shut_down(current_clock().today())},
    )


@bp.post("/chatkit")
@login_required
@chat_limit
def chatkit_endpoint():
    settings = current_settings()
    if settings.chat.mode != "self-hosted":
        raise ApiError(404, "not_self_hosted", "This endpoint serves CHATKIT_MODE=self-hosted; chat is in hosted mode.")
    for variable, why in settings.missing_for_chat():
        raise not_configured(variable, why)
    answer = chat_service().answer(request.get_data(), g.admin_id, g.admin, g.admin_roles)
    if answer.stream is None:
        return Response(answer.json, mimetype="application/json")
    # Streamed as it is produced: no buffering in nginx (X-Accel-Buffering) or in any cache.
    response = Response(
        answer.stream, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    # A stream the server closes before reading it never runs the generator's finally; closing always happens.
    response.call_on_close(answer.release)
    return response


@bp.post("/api/v1/chat/voice-transcript")
@login_required
@transcript_limit
def add_voice_transcript():
    """Adds a voice session's transcript lines to the admin's current chat thread (no model turn)."""
    settings = current_settings()
    if settings.chat.mode != "self-hosted":
        raise ApiError(
            409, "not_self_hosted",
            "Voice transcripts go into the chat thread only in self-hosted mode (CHATKIT_MODE=self-hosted); "
            "hosted ChatKit threads cannot be written by this server.",
        )
    thread_id, entries = _transcript_request(request.get_json(silent=True))
    thread_id, added = chat_service().add_transcripts(g.admin_id, entries, thread_id)
    return jsonify({"status": "success", "data": {"threadId": thread_id, "added": added}})


def _transcript_request(body):
    TRANSCRIPT_REQUEST.check(body)
    entries = [TranscriptEntry(raw["role"], raw["text"].strip(), raw.get("id")) for raw in body["entries"]]
    return body.get("threadId"), entries


# The body is optional; a refresh names the expiring secret in it.
CHATKIT_SESSION_REQUEST = BodySchema({
    "type": "object",
    "properties": {"current": {"type": ["string", "null"],
                               "message": "current must be the expiring client secret, a string."}},
    "message": 'The body must be a JSON object, e.g. {"current": "<the expiring client secret>"}.',
})


@bp.post("/api/v1/chatkit/session")
@no_store
@login_required
@mint_limit
def create_chatkit_session():
    if request.content_length:
        CHATKIT_SESSION_REQUEST.check(request.get_json(silent=True))
    settings = current_settings()
    for variable, why in settings.missing_for_chat():
        raise not_configured(variable, why)
    if not settings.chat.agent_id:  # self-hosted mode has no workflow to open a session for
        raise not_configured("CHATKIT_AGENT_ID", "the ChatKit workflow id (wf_...) from Agent Builder, for hosted mode")
    # ChatKit has no refresh endpoint: a refresh (current given) is simply a new session.
    client = openai_client()
    minted = recorded_mint(
        "chatkit", g.admin, lambda: client.create_chatkit_session(settings.chat.agent_id, g.admin_openai_id)
    )
    return jsonify(
        {
            "status": "success",
            "data": {"client_secret": minted.client_secret, "expires_at": minted.expires_at, "sessionId": minted.session_id},
        }
    )


@bp.cli.command("export-hosted")
@click.argument("admin")
def export_hosted_command(admin):
    """Copy ADMIN's hosted ChatKit threads into the self-hosted store (run before Agent Builder retires)."""
    settings = current_settings()
    if not settings.openai.api_key:
        raise click.ClickException("OPENAI_API_KEY is not set: it must be the key of the workflow's project.")
    try:
        found = find_admin(settings.auth.admin_users_file, admin)
    except AdminFileError as error:
        raise click.ClickException(str(error)) from None
    if found is None:
        raise click.ClickException(f"no admin named {admin} in {settings.auth.admin_users_file}")
    # Hosted sessions were opened under the admin's id at OpenAI (POST /api/v1/chatkit/session), and before
    # admin ids under a hash of the name: both are looked up.
    users = (legacy_admin_id(admin), stable_admin_id(current_app.secret_key, found.admin_id))
    for user in users:
        try:
            result = chat_service().export_hosted_threads(openai_client(), found.admin_id, user)
        except ApiError as error:
            raise click.ClickException(error.message) from None
        click.echo(
            f"Exported {result.threads} thread(s) with {result.messages} message(s) for {admin} (ChatKit user {user}); "
            f"{result.already_here} thread(s) were already here; {result.left_out} item(s) other than messages left out."
        )
