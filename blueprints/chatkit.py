"""The chat page, ChatKit session minting for the hosted workflow, and the self-hosted /chatkit endpoint."""

import ipaddress

import click
from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from activity import recorded_mint
from blueprints.auth import login_required
from chat import (
    add_transcripts,
    chat_server,
    current_chat_thread,
    hosted,
    process_chatkit_request,
    starts_a_stream,
)
from chat.retention import prune_threads_now_and_then
from chat.streams import stream_slots
from chat.transcripts import TranscriptEntry, valid_entry_id
from core.admins import AdminFileError, find_admin, legacy_admin_id, stable_admin_id
from core.clock import current_clock
from core.errors import ApiError, bad_request, not_configured
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
    self_hosted = settings.chat.mode == "self-hosted"
    domain_key = settings.chat.domain_key or (LOCALHOST_DOMAIN_KEY if is_local_host(request.host) else None)
    current_thread = current_chat_thread(g.admin_id) if self_hosted else None
    return render_template(
        "chatkit/chat.html", settings=settings, self_hosted=self_hosted, domain_key=domain_key,
        current_thread=current_thread,
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
    body = request.get_data()
    # A request that starts a model run holds a slot until its answer has streamed; listing threads needs none.
    if starts_a_stream(body):
        release = stream_slots.take(g.admin, settings.chat.max_streams_per_admin, settings.chat.max_streams_per_worker)
    else:
        release = _nothing_to_release
    try:
        kind, payload = process_chatkit_request(body, g.admin_id, g.admin, g.admin_roles)
    except BaseException:
        release()
        raise
    _prune_old_threads(settings)
    if kind == "json":
        release()
        return Response(payload, mimetype="application/json")
    # Streamed as it is produced: no buffering in nginx (X-Accel-Buffering) or in any cache.
    response = Response(
        _releasing(payload, release), mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    # A stream the server closes before reading it never runs the generator's finally; closing always happens.
    response.call_on_close(release)
    return response


def _nothing_to_release():
    pass


def _releasing(chunks, release):
    """The stream, giving its slot back when it ends or the client goes away (the server closes it)."""
    try:
        yield from chunks
    finally:
        release()


def _prune_old_threads(settings):
    engine = current_app.extensions["chatkit_server"].engine
    prune_threads_now_and_then(engine, settings.chat.retention_days, current_app.logger)


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
    thread_id, added = add_transcripts(g.admin_id, entries, thread_id)
    _prune_old_threads(settings)
    return jsonify({"status": "success", "data": {"threadId": thread_id, "added": added}})


def _transcript_request(body):
    example = '{"threadId": null, "entries": [{"role": "user", "text": "...", "id": "item_123"}]}'
    if not isinstance(body, dict) or set(body) - {"threadId", "entries"}:
        raise bad_request(f"The body must be a JSON object like {example}.")
    thread_id = body.get("threadId")
    if thread_id is not None and not valid_entry_id(thread_id):
        raise bad_request("threadId must be a thread id such as thr_1a2b3c4d, or null for the current thread.")
    raw_entries = body.get("entries")
    if not isinstance(raw_entries, list) or not 1 <= len(raw_entries) <= MAX_TRANSCRIPT_ENTRIES:
        raise bad_request(f"entries must be a list of 1 to {MAX_TRANSCRIPT_ENTRIES} transcript lines, e.g. {example}.")
    entries = []
    for index, raw in enumerate(raw_entries):
        if not isinstance(raw, dict) or set(raw) - {"role", "text", "id"}:
            raise bad_request(f"entries[{index}] must be an object with role, text and an optional id.")
        if raw.get("role") not in ("user", "assistant"):
            raise bad_request(f"entries[{index}].role must be user (the admin's speech) or assistant (the voice agent).")
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TRANSCRIPT_CHARS:
            raise bad_request(f"entries[{index}].text must be non-empty text of at most {MAX_TRANSCRIPT_CHARS:,} characters.")
        if raw.get("id") is not None and not valid_entry_id(raw["id"]):
            raise bad_request(f"entries[{index}].id must be 1-64 letters, digits, _ or - (e.g. the Realtime item id).")
        entries.append(TranscriptEntry(raw["role"], text.strip(), raw.get("id")))
    return thread_id, entries


@bp.post("/api/v1/chatkit/session")
@no_store
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
    from chat.export import export_hosted_threads

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
            result = export_hosted_threads(openai_client(), chat_server().store, found.admin_id, user)
        except ApiError as error:
            raise click.ClickException(error.message) from None
        click.echo(
            f"Exported {result.threads} thread(s) with {result.messages} message(s) for {admin} (ChatKit user {user}); "
            f"{result.already_here} thread(s) were already here; {result.left_out} item(s) other than messages left out."
        )
