"""Flask extensions shared by the blueprints, and accessors for the app's settings and OpenAI client."""

from flask import current_app, g, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect


def admin_or_address():
    """Rate limits count per signed-in admin, and per client address before sign-in."""
    return session.get("admin") or get_remote_address()


csrf = CSRFProtect()
limiter = Limiter(key_func=admin_or_address, headers_enabled=True)


def current_settings():
    return current_app.config["SETTINGS"]


def openai_client():
    return current_app.extensions["openai_client"]


def signed_in_admin():
    return g.get("admin")


def _mint_rate_limit():
    return current_settings().mint_rate_limit


# One budget per admin for every kind of minting (Realtime secrets, relayed calls, ChatKit sessions).
mint_limit = limiter.shared_limit(_mint_rate_limit, scope="mint")
