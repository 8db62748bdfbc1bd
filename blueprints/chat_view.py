"""The native chat view (CHAT_UI native, or auto when the ChatKit widget cannot load): threads and their items
rendered by this server, and the forms that send, approve, retry, rename and delete without JavaScript."""

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from blueprints.auth import login_required
from chat import chat_service
from chat.native import list_threads, load_thread
from chat.native_send import (
    CARD_ACTIONS,
    action_request,
    checked_message,
    checked_title,
    delete_request,
    message_request,
    new_thread_request,
    rename_request,
    retry_request,
    run_to_end,
)
from chat.transcripts import valid_entry_id
from core.errors import ApiError, not_configured
from core.extensions import check_admin_limit, current_settings

bp = Blueprint("chat_view", __name__)


def current_thread_page():
    """The native view with the admin's most recently active thread open (or a new one): /admin/chat in native."""
    return render_native(chat_service().current_thread(g.admin_id))


@bp.get("/admin/chat/threads")
@login_required
def threads_page():
    if request.headers.get("HX-Request") == "true":
        # "More threads" through htmx: the next page's rows only.
        page = list_threads(g.admin_id, g.admin, after=_thread_id_arg("after"))
        response = current_app.make_response(render_template(
            "chat_view/_thread_rows.html", page=page, open_thread=_thread_id_arg("open")))
        response.vary.add("HX-Request")
        return response
    response = current_app.make_response(current_thread_page())
    response.vary.add("HX-Request")
    return response


@bp.get("/admin/chat/threads/new")
@login_required
def new_thread_page():
    return render_native(None)


@bp.get("/admin/chat/threads/<thread_id>")
@login_required
def thread_page(thread_id):
    return render_native(thread_id, earlier=_thread_id_arg("earlier"), retry_item=_thread_id_arg("retry"))


@bp.post("/admin/chat/threads")
@login_required
def create_thread():
    return _send(None, new_thread_request)


@bp.post("/admin/chat/threads/<thread_id>/messages")
@login_required
def add_message(thread_id):
    return _send(thread_id, lambda text: message_request(thread_id, text))


@bp.post("/admin/chat/threads/<thread_id>/actions")
@login_required
def card_action(thread_id):
    """Approve or Deny on an approval card: the same custom action the widget sends, which resumes the held run."""
    action, item_id, call_id = (request.form.get(name, "") for name in ("action", "item_id", "call_id"))
    if action not in CARD_ACTIONS or not valid_entry_id(item_id) or not call_id or len(call_id) > 128:
        return render_native(thread_id, error="That button does not belong to a card of this thread.", status=400)
    return _run(thread_id, action_request(thread_id, item_id, action, call_id))


@bp.post("/admin/chat/threads/<thread_id>/retry")
@login_required
def retry_answer(thread_id):
    item_id = request.form.get("item_id", "")
    if not valid_entry_id(item_id):
        return render_native(thread_id, error="Retry needs the message to answer again.", status=400)
    return _run(thread_id, retry_request(thread_id, item_id))


@bp.post("/admin/chat/threads/<thread_id>/rename")
@login_required
def rename_thread(thread_id):
    try:
        title = checked_title(request.form.get("title"))
    except ValueError as error:
        return render_native(thread_id, error=str(error), status=400)
    _result, refused = _attempt(thread_id, rename_request(thread_id, title))
    if refused:
        return refused
    flash(f"Renamed the thread to “{title}”.", "ok")
    return redirect(url_for("chat_view.thread_page", thread_id=thread_id), code=303)


@bp.post("/admin/chat/threads/<thread_id>/delete")
@login_required
def delete_thread(thread_id):
    _result, refused = _attempt(thread_id, delete_request(thread_id))
    if refused:
        return refused
    flash("Deleted the thread and everything in it.", "ok")
    return redirect(url_for("chat_view.threads_page"), code=303)


def _send(thread_id, request_for):
    raw_text = request.form.get("text", "")
    try:
        text = checked_message(raw_text)
    except ValueError as error:
        return render_native(thread_id, error=str(error), composer_text=raw_text, status=400)
    return _run(thread_id, request_for(text), composer_text=raw_text)


def _run(thread_id, body, composer_text=""):
    """Runs a request that answers (a message, an approval, a retry) to its end, then shows the thread (303)."""
    outcome, refused = _attempt(thread_id, body, composer_text)
    if refused:
        return refused
    target = outcome.thread_id or thread_id
    if outcome.error:
        flash(outcome.error, "error")
    retry = outcome.user_item if outcome.error and outcome.can_retry else None
    return redirect(url_for("chat_view.thread_page", thread_id=target, retry=retry, _anchor="chat-end"), code=303)


def _attempt(thread_id, body, composer_text=""):
    """(the request's result, None), or (None, the page with the refusal in words and the admin's text kept in the
    composer)."""
    settings = current_settings()
    try:
        _require_self_hosted(settings)
        check_admin_limit("chat", settings.chat.rate_limit)
        for variable, why in settings.missing_for_chat():
            raise not_configured(variable, why)
        outcome = run_to_end(g.admin_id, g.admin, body, g.admin_roles)
    except ApiError as error:
        return None, render_native(thread_id, error=error.message, composer_text=composer_text, status=error.status,
                                   retry_after=error.retry_after)
    return outcome, None


def render_native(thread_id, *, earlier=None, retry_item=None, error=None, composer_text="", status=200,
                  retry_after=None):
    """The whole native page: the thread list, the open thread (or a new one) and the composer."""
    settings = current_settings()
    if settings.chat.mode != "self-hosted":
        return render_template("chat_view/hosted.html", settings=settings), 404
    thread = None
    if thread_id:
        try:
            thread = load_thread(g.admin_id, g.admin, thread_id, earlier=earlier)
        except ApiError as missing:
            error, status, thread_id = missing.message, missing.status, None
    page = list_threads(g.admin_id, g.admin, after=_thread_id_arg("after"))
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    body = render_template(
        "chat_view/page.html", settings=settings, page=page, thread=thread, error=error, composer_text=composer_text,
        retry_item=retry_item if thread and retry_item == thread.last_user_item else None,
    )
    return body, status, headers


def _require_self_hosted(settings):
    if settings.chat.mode != "self-hosted":
        raise ApiError(404, "not_self_hosted",
                       "The native chat view shows self-hosted threads; chat is in hosted mode.")


def _thread_id_arg(name):
    value = request.args.get(name)
    return value if valid_entry_id(value) else None
