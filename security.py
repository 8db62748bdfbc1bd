"""HTTPS, HSTS, the content security policy and other security headers (Flask-Talisman)."""

from urllib.parse import urlparse

from flask_talisman import Talisman

CHATKIT_CDN = "https://cdn.platform.openai.com"
HSTS_MAX_AGE = 365 * 24 * 3600


def content_security_policy(settings):
    """A strict CSP: nothing inline, scripts from us and ChatKit's CDN, and the browser may post its
    SDP offer straight to OpenAI only in ephemeral mode."""
    connect = ["'self'"]
    if settings.realtime_connect == "ephemeral":
        base = urlparse(settings.openai_base_url)
        connect.append(f"{base.scheme}://{base.netloc}")
    return {
        "default-src": "'self'",
        "script-src": ["'self'", CHATKIT_CDN],
        "frame-src": [CHATKIT_CDN],
        "connect-src": connect,
        "style-src": "'self'",
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:", "mediastream:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_security(app, settings):
    Talisman(
        app,
        force_https=settings.force_https,
        force_https_permanent=True,
        strict_transport_security=settings.force_https,
        strict_transport_security_max_age=HSTS_MAX_AGE,
        strict_transport_security_include_subdomains=True,
        session_cookie_secure=settings.force_https,
        content_security_policy=content_security_policy(settings),
        frame_options="DENY",
        permissions_policy={"microphone": "(self)", "camera": "()", "geolocation": "()"},
        referrer_policy="strict-origin-when-cross-origin",
    )
