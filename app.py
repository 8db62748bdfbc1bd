"""The application factory: settings, extensions, security headers, blueprints and error handlers."""

import os
import secrets
import time

from flask import Flask, jsonify, redirect, render_template, request, session, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from agent.definition import load_agent_file

# The blueprints import activity/ and chat/, which define their tables before init_database creates them.
from blueprints import activity, auth, chat_view, chatkit, health, realtime
from chat import init_chat
from chat.hosted import hosted_mode_warning
from core.clock import SYSTEM_CLOCK
from core.config import ConfigError, load_settings
from core.database import init_database
from core.errors import ApiError, not_signed_in, wants_json
from core.extensions import csrf, limiter
from core.logs import configure_logging, init_request_ids
from core.openai_http import OpenAIClient
from core.security import init_security

MAX_REQUEST_BYTES = 256 * 1024


def create_app(test_config=None):
    """Builds the app. `test_config` may hold ENVIRON (the variables to read instead of os.environ), CLOCK (a
    core.clock.Clock: the day the app stands on) and any Flask config overrides."""
    test_config = dict(test_config or {})
    environ = test_config.pop("ENVIRON", os.environ)
    clock = test_config.pop("CLOCK", SYSTEM_CLOCK)
    try:
        settings = load_settings(environ, today=clock.today(), agent=load_agent_file(environ))
    except ConfigError as error:
        raise SystemExit(f"Configuration error: {error}") from None

    app = Flask(__name__, instance_relative_config=True)
    app.extensions["clock"] = clock
    app.config.from_mapping(
        SETTINGS=settings,
        # Debug without SECRET_KEY still runs; sessions then last until the process restarts.
        SECRET_KEY=settings.auth.secret_key or secrets.token_hex(32),
        # __Host-: the browser keeps the cookie only when Secure, Path=/ and without Domain, so no other host under
        # the same domain (or plain HTTP) can plant or overwrite it.
        SESSION_COOKIE_NAME="__Host-session" if settings.server.force_https else "session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.server.force_https,
        RATELIMIT_STORAGE_URI=settings.auth.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
    )
    app.config.update(test_config)
    configure_logging(settings.server.log_format)
    for warning in settings.warnings:
        app.logger.warning(warning)
    if settings.chat.mode == "hosted":
        app.logger.warning(hosted_mode_warning(clock.today()))
    if not settings.openai.api_key:
        app.logger.warning("OPENAI_API_KEY is not set: voice and chat endpoints answer 503 not_configured")

    app.extensions["openai_client"] = OpenAIClient(settings)
    # One registry of the agent's tools per app, for voice (the session's tools, the tool-call route) and chat.
    app.extensions["agent_tools"] = _agent_tools(settings)
    engine = init_database(app, settings.server.database_url)
    init_chat(app, settings, engine)
    csrf.init_app(app)
    limiter.init_app(app)
    init_security(app, settings)
    init_request_ids(app)

    for blueprint in (auth, realtime, chatkit, chat_view, activity, health):
        app.register_blueprint(blueprint.bp)
    app.add_url_rule("/", "index", lambda: redirect(url_for("realtime.voice_page")))
    _register_error_handlers(app)
    return app


def _agent_tools(settings):
    """The agent file's tools (HTTP, and its MCP servers' as listed now), or None without AGENT_FILE."""
    if settings.agent is None:
        return None
    from agent.mcp_tools import AgentTools  # the mcp client loads only with an agent file

    return AgentTools(settings.agent, limits=settings.tools)


def _api_error_response(error):
    response = jsonify(error.envelope())
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(int(error.retry_after))
    return response


def _htmx_page_request():
    # htmx swaps error answers into the page too (base.html's responseHandling): a page route answers it in words.
    return request.headers.get("HX-Request") == "true" and not wants_json()


def _htmx_error(message, status, retry_after=None):
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    return render_template("_error_notice.html", message=message), status, headers


def _register_error_handlers(app):
    @app.errorhandler(ApiError)
    def api_error(error):
        if error.status >= 500:
            app.logger.warning("%s %s -> %d %s: %s", request.method, request.path, error.status, error.code, error.message)
        if _htmx_page_request():
            return _htmx_error(error.message, error.status, error.retry_after)
        return _api_error_response(error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = f"The request was refused: {error.description} Reload the page and try again."
        if wants_json() and not session.get("admin"):
            # The CSRF check runs first, but a signed-out caller's real problem is the missing sign-in.
            return _api_error_response(not_signed_in())
        if wants_json():
            return _api_error_response(ApiError(400, "csrf_failed", message))
        return message, 400

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error):
        current = limiter.current_limit
        retry_after = max(1, int(current.reset_at - time.time()) + 1) if current else 60
        message = f"Too many requests ({error.description}). Try again in {retry_after} s."
        if wants_json():
            return _api_error_response(ApiError(429, "rate_limited", message, retry_after=retry_after))
        if _htmx_page_request():
            return _htmx_error(message, 429, retry_after)
        return message, 429, {"Retry-After": str(retry_after)}

    @app.errorhandler(HTTPException)
    def http_error(error):
        if not wants_json():
            return error
        code = {413: "payload_too_large"}.get(error.code, "bad_request" if error.code < 500 else "server_error")
        return _api_error_response(ApiError(error.code, code, error.description))

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on the server; the details are in its log."
        if wants_json():
            return _api_error_response(ApiError(500, "server_error", message))
        return message, 500
