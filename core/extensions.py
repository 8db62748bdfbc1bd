"""Flask extensions shared by the blueprints (CSRF, the rate limiter, the per-admin mint limit), and accessors for
the app's settings and OpenAI client."""

import functools
import ipaddress
import time

from flask import current_app, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from limits import parse_many

from core.errors import ApiError


def client_address():
    """The client's address for rate limits; an IPv6 client by its /64, as one host usually holds a whole /64."""
    address = get_remote_address() or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def admin_or_address():
    """Rate limits count per signed-in admin, and per client address before sign-in."""
    return session.get("admin") or client_address()


csrf = CSRFProtect()
limiter = Limiter(key_func=admin_or_address, headers_enabled=True)


def current_settings():
    return current_app.config["SETTINGS"]


def openai_client():
    return current_app.extensions["openai_client"]


def agent_tools():
    """The app's agent.mcp_tools.AgentTools (built once in create_app), or None without AGENT_FILE."""
    return current_app.extensions.get("agent_tools")


@functools.lru_cache(maxsize=16)
def _parsed_limits(text):
    return tuple(parse_many(text))


def retry_after_if_over(limit_text, scope, key):
    """Seconds to wait when `key` has used up one of the limits in `limit_text` within `scope`, else None.
    Only looks: count with `hit_limits`."""
    strategy = limiter.limiter
    for limit in _parsed_limits(limit_text):
        if not strategy.test(limit, scope, key):
            reset_at = strategy.get_window_stats(limit, scope, key).reset_time
            return max(1, int(reset_at - time.time()) + 1)
    return None


def hit_limits(limit_text, scope, key):
    for limit in _parsed_limits(limit_text):
        limiter.limiter.hit(limit, scope, key)


def per_admin_limit(scope, limits_of):
    """A decorator counting one budget per admin under `scope`; `limits_of(settings)` is its limit text.

    Counted with the `limits` library on Flask-Limiter's own storage (memory://, or redis:// shared by several
    instances), straight from here: Flask-Limiter's decorator resolves, filters and evaluates its limits twice
    a request, about a tenth of a mint's CPU (docs/performance.md)."""

    def decorate(view):
        @functools.wraps(view)
        def limited(**kwargs):
            check_admin_limit(scope, limits_of(current_settings()))
            return view(**kwargs)

        return limited

    return decorate


def check_admin_limit(scope, limit_text, key=None):
    """Counts one request of the admin under `scope`; raises the 429 ApiError when a limit is used up. `key`: the
    admin's name, for a caller outside a request (the chat agent's tool calls); else the request's admin."""
    strategy, key = limiter.limiter, key or admin_or_address()
    for limit in _parsed_limits(limit_text):
        if not strategy.hit(limit, scope, key):
            reset_at = strategy.get_window_stats(limit, scope, key).reset_time
            retry_after = max(1, int(reset_at - time.time()) + 1)
            raise ApiError(429, "rate_limited", f"Too many requests ({limit}). Try again in {retry_after} s.",
                           retry_after=retry_after)


# One budget per admin (MINT_RATE_LIMIT) for every kind of minting: Realtime secrets, relayed calls, ChatKit.
mint_limit = per_admin_limit("mint", lambda settings: settings.auth.mint_rate_limit)
# Secrets the voice page mints ahead of the click ({"prepare": true}) count against a second budget of the same
# size, so a page that keeps one ready (about one a minute while it is in use) never uses up the admin's clicks.
PREPARE_MINT_SCOPE = "mint-prepare"
# Every chat request (CHAT_RATE_LIMIT) and voice transcript post (TRANSCRIPT_RATE_LIMIT), per admin.
chat_limit = per_admin_limit("chat", lambda settings: settings.chat.rate_limit)
# The agent's tool calls (TOOL_RATE_LIMIT), per admin: those the voice page relays, and the chat agent's
# (chat.service.ChatService counts those under the same scope and key, so both channels share one budget).
TOOL_SCOPE = "tool"
tool_limit = per_admin_limit(TOOL_SCOPE, lambda settings: settings.auth.tool_rate_limit)
transcript_limit = per_admin_limit("transcript", lambda settings: settings.chat.transcript_rate_limit)
