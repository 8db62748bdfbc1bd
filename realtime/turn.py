"""Per-session TURN credentials (the TURN REST scheme that coturn's use-auth-secret checks) and the browser's ICE servers."""

import base64
import hashlib
import hmac
import time


def turn_credentials(shared_secret, user_id, ttl_seconds, now=None):
    """(username, credential): the username is "<expiry unix time>:<user id>" and the credential is
    base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC and refuses the name once expired,
    so a leaked pair stops working on its own and no password is ever stored."""
    expiry = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expiry}:{user_id}"
    digest = hmac.new(shared_secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(settings, user_id, now=None):
    """ICE_SERVERS as configured (STUN and static TURN, several for redundancy), plus the TURN_URLS with
    fresh credentials when TURN_SHARED_SECRET is set."""
    servers = [dict(server) for server in settings.realtime.ice_servers]
    if settings.turn.shared_secret:
        username, credential = turn_credentials(
            settings.turn.shared_secret, user_id, settings.turn.credential_ttl_seconds, now
        )
        servers.append({"urls": list(settings.turn.urls), "username": username, "credential": credential})
    return servers
