"""The HTTP session the agent's HTTP tools call with: nothing from the process's environment, no cookie shared between
calls, and a whole-call deadline.

API (agent/executor.py):

    session                                   # a requests.Session: trust_env off, no cookies kept, watched sockets
    with Deadline(seconds) as deadline:       # while inside, a request this thread makes is cut off at the deadline
        deadline.remaining() -> seconds left; deadline.expired -> bool
"""

import socket
import threading
import time
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# requests' timeout bounds each connect and each read, so a server sending a byte a second (headers or body) could
# hold a call forever. Each call therefore registers the socket it waits on, and a timer shuts that socket down when
# timeout_seconds are up, which ends any wait on it at once.

_current = threading.local()


class Deadline:
    def __init__(self, seconds):
        self.seconds, self.ends_at = seconds, time.monotonic() + seconds
        self.expired = False
        self._socket = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *_exc):
        self._timer.cancel()
        with self._lock:
            self._socket = None
        _current.deadline = None

    def remaining(self):
        return max(0.001, self.ends_at - time.monotonic())

    def watch(self, sock):
        with self._lock:
            self._socket = sock
            if self.expired:
                _shut(sock)

    def _expire(self):
        with self._lock:
            self.expired = True
            if self._socket is not None:
                _shut(self._socket)


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self):
        deadline = getattr(_current, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self):
        deadline = getattr(_current, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections whose socket the call's deadline can shut down."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        return manager


def _new_session():
    session = requests.Session()  # pooled keep-alive connections to the platform, shared by every call
    # Not the process's HTTP(S)_PROXY, NO_PROXY, .netrc or CA variables: a tool's request goes where the file says,
    # with the headers the file gives, and nowhere else (ToolSettings.proxy_url names a proxy on purpose).
    session.trust_env = False
    session.mount("http://", _WatchedAdapter())
    session.mount("https://", _WatchedAdapter())
    # Shared by every admin and tool: a cookie one call receives must not ride along on another's.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


session = _new_session()
