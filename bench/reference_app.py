"""The floor of this machine for a token route: about twenty lines of bare WSGI that forward a POST to the stand-in
over a keep-alive http.client connection per thread and hand back its JSON, under the same gunicorn, load
generator and stand-in as the app (`bench/bench_mint.py --reference`).

No session, CSRF, rate limit, activity record, metrics or logging: the gap between this and the app is what those,
Flask and `requests` cost, not what gunicorn or the machine does.
"""

import http.client
import json
import os
import threading

_UPSTREAM_PORT = int(os.environ.get("REFERENCE_UPSTREAM_PORT", "0"))
_BODY = json.dumps({"expires_after": {"anchor": "created_at", "seconds": 60},
                    "session": {"type": "realtime", "model": "gpt-realtime-2.1", "audio": {"output": {"voice": "marin"}}}})
_HEADERS = {"Authorization": "Bearer sk-bench-not-a-real-key", "Content-Type": "application/json"}
_connections = threading.local()


def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    connection = getattr(_connections, "upstream", None) or http.client.HTTPConnection("127.0.0.1", _UPSTREAM_PORT)
    _connections.upstream = None  # put back only after a whole exchange, so a failed one never leaves a bad socket
    connection.request("POST", "/v1/realtime/client_secrets", _BODY, _HEADERS)
    reply = connection.getresponse()
    secret = json.loads(reply.read()).get("value")
    _connections.upstream = connection
    body = json.dumps({"status": "success", "data": {"token": {"value": secret}}}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
