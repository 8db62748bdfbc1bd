"""HTTPS, HSTS, the content security policy and other security headers (Flask-Talisman), and ProxyFix."""

import functools
import ipaddress
from urllib.parse import urlparse

from flask import make_response
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from core.openai_catalog import CHATKIT_CDN

HSTS_MAX_AGE = 365 * 24 * 3600


def content_security_policy(settings):
    """A strict CSP: nothing inline, scripts from us and ChatKit's CDN (none of OpenAI's hosts with CHAT_UI=native,
    which never loads the widget), and the browser may post its SDP offer straight to OpenAI only in ephemeral mode."""
    connect = ["'self'"]
    if settings.realtime.connect == "ephemeral":
        base = urlparse(settings.openai.base_url)
        connect.append(f"{base.scheme}://{base.netloc}")
    widget_hosts = [CHATKIT_CDN] if settings.loads_chatkit_script else []
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *widget_hosts],
        "frame-src": widget_hosts or "'none'",
        "connect-src": connect,
        "style-src": "'self'",
        "img-src": ["'self'", "data:"],
        # The remote voice arrives as a MediaStream on an <audio> element.
        "media-src": ["'self'", "blob:", "mediastream:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def plain_http_allowed(view):
    """Marks a view (health probes, metrics scrapes) that load balancers and Prometheus reach over plain
    HTTP on the app's own port: it is never redirected to HTTPS. Talisman reads this attribute per view."""
    view.talisman_view_options = {"force_https": False}
    return view


def no_store(view):
    """Marks a view whose answer carries a secret or credential (client secrets, TURN credentials, the CSRF token
    of the login form): `Cache-Control: no-store`, so no browser cache, proxy or back button keeps a copy."""

    @functools.wraps(view)
    def uncached(**kwargs):
        response = make_response(view(**kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    return uncached


def _without_forwarded_proto(wsgi_app):
    """Talisman believes X-Forwarded-Proto on its own; with no trusted proxy that would be the client's word."""

    def app(environ, start_response):
        environ.pop("HTTP_X_FORWARDED_PROTO", None)
        return wsgi_app(environ, start_response)

    return app


FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


def is_trusted_peer(remote_address, networks):
    try:
        address = ipaddress.ip_address(remote_address or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _forwarded_only_from(wsgi_app, networks):
    """Drops X-Forwarded-* unless the direct peer is a trusted proxy (TRUSTED_PROXY_ADDRESSES): a hop count alone
    would believe a client that reaches the app's port directly and sends the headers itself."""

    def app(environ, start_response):
        if not is_trusted_peer(environ.get("REMOTE_ADDR"), networks):
            for name in FORWARDED_HEADERS:
                environ.pop(name, None)
        return wsgi_app(environ, start_response)

    return app


def init_security(app, settings):
    if settings.server.trusted_proxies:
        # Each trusted proxy appends one X-Forwarded-For entry and sets the scheme; trusting more than stand
        # in front would let a client forge its address (rate limits) or claim HTTPS.
        n = settings.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0, x_prefix=0)
        app.wsgi_app = _forwarded_only_from(app.wsgi_app, settings.server.trusted_proxy_addresses)
    else:
        app.wsgi_app = _without_forwarded_proto(app.wsgi_app)
    Talisman(
        app,
        # Talisman also stands aside whenever app.debug is on, so `flask run --debug` on
        # http://localhost keeps working (localhost is a secure context: the microphone works there).
        force_https=settings.server.force_https,
        force_https_permanent=True,
        strict_transport_security=settings.server.force_https,
        strict_transport_security_max_age=HSTS_MAX_AGE,
        strict_transport_security_include_subdomains=True,
        session_cookie_secure=settings.server.force_https,
        content_security_policy=content_security_policy(settings),
        frame_options="DENY",
        permissions_policy={"microphone": "(self)", "camera": "()", "geolocation": "()"},
        referrer_policy="strict-origin-when-cross-origin",
    )
