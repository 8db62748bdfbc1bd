"""Every HTTP call the server makes to OpenAI: Realtime client secrets, the relayed SDP offer, ChatKit sessions."""

import json
import logging
import os
import re
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from core.errors import ApiError
from core.logs import current_request_id
from core.metrics import observe_upstream

log = logging.getLogger(__name__)

MAX_RETRIES = 2  # after the first attempt, for connection errors, 429 and 5xx
RETRY_BACKOFF_SECONDS = (0.2, 0.5)
MAX_RETRY_AFTER_SECONDS = 2.0  # a longer Retry-After is passed on to the admin instead of waited out
MAX_UPSTREAM_BODY_BYTES = 1024 * 1024
POOL_SIZE = 256  # one keep-alive connection per concurrent request a worker may have in flight


class UpstreamError(ApiError):
    """OpenAI could not do what we asked; status and code are what our own endpoint answers."""

    def __init__(self, status, code, message, *, retry_after=None, request_id=None, upstream_status=None):
        super().__init__(status, code, message, retry_after=retry_after)
        self.request_id = request_id
        self.upstream_status = upstream_status


@dataclass(frozen=True)
class MintedSecret:
    value: str
    expires_at: int
    session_id: str | None
    request_id: str | None
    latency_ms: float


@dataclass(frozen=True)
class RelayedCall:
    answer_sdp: str
    call_id: str | None
    request_id: str | None
    latency_ms: float


@dataclass(frozen=True)
class ChatKitSession:
    client_secret: str
    expires_at: int
    session_id: str | None
    request_id: str | None
    latency_ms: float


def mask_secret(value):
    """'ek_68af…63c2': enough to tell secrets apart in logs and pages, never enough to use one."""
    if not value:
        return ""
    prefix = re.match(r"^[A-Za-z]+[-_]", value)
    head = prefix.group(0) if prefix else ""
    tail = value[-4:] if len(value) >= len(head) + 12 else ""
    return f"{head}…{tail}"


def _retry_after_seconds(response):
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _openai_message(body):
    try:
        error = json.loads(body).get("error")
        return error.get("message") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        return None


class OpenAIClient:
    """Talks to OPENAI_BASE_URL over one pooled keep-alive session, with bounded retries and typed errors."""

    def __init__(self, settings, session=None):
        self.settings = settings
        self.base_url = settings.openai.base_url
        self.timeout = (settings.openai.connect_timeout_seconds, settings.openai.timeout_seconds)
        self.session = session or requests.Session()
        self.adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self.session.mount("https://", self.adapter)
        self.session.mount("http://", self.adapter)
        # Proxy and CA-bundle variables are read once here: left to requests (trust_env), every call re-scans
        # the whole environment, about 0.4 ms of CPU per mint (bench/bench_mint.py, docs/performance.md).
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.trust_env = False

    # --- the three calls -------------------------------------------------------------------------

    def mint_realtime_secret(self, session_config, safety_identifier=None):
        body = {
            "expires_after": {"anchor": "created_at", "seconds": self.settings.realtime.secret_ttl_seconds},
            "session": session_config,
        }
        headers = {"OpenAI-Safety-Identifier": safety_identifier} if safety_identifier else {}
        reply = self._post("/realtime/client_secrets", "Failed to create realtime session", json=body, headers=headers)
        payload = self._json(reply, "Failed to create realtime session")
        value = payload.get("value")
        if not isinstance(value, str) or not value:
            raise UpstreamError(502, "no_client_secret",
                                f"No client_secret in response. {_realtime_access_hint(self.settings.realtime.model)}",
                                request_id=reply.request_id)
        session = payload.get("session") if isinstance(payload.get("session"), dict) else {}
        return MintedSecret(
            value=value,
            expires_at=_int_or_none(payload.get("expires_at")) or int(time.time()) + self.settings.realtime.secret_ttl_seconds,
            session_id=session.get("id"),
            request_id=reply.request_id,
            latency_ms=reply.latency_ms,
        )

    def relay_sdp_offer(self, offer_sdp, session_config, safety_identifier=None):
        files = {
            "sdp": (None, offer_sdp, "application/sdp"),
            "session": (None, json.dumps(session_config), "application/json"),
        }
        headers = {"OpenAI-Safety-Identifier": safety_identifier} if safety_identifier else {}
        reply = self._post("/realtime/calls", "Failed to connect the realtime call", files=files, headers=headers)
        answer = reply.body.decode("utf-8", "replace")
        if not answer.startswith("v=0"):
            raise UpstreamError(
                502, "invalid_upstream_response", "OpenAI answered the offer with something that is not SDP",
                request_id=reply.request_id,
            )
        location = reply.headers.get("Location", "")
        return RelayedCall(answer, location.rstrip("/").rsplit("/", 1)[-1] or None, reply.request_id, reply.latency_ms)

    def create_chatkit_session(self, workflow_id, user):
        body = {"workflow": {"id": workflow_id}, "user": user}
        reply = self._post(
            "/chatkit/sessions", "Failed to create ChatKit session", json=body, headers={"OpenAI-Beta": "chatkit_beta=v1"}
        )
        payload = self._json(reply, "Failed to create ChatKit session")
        secret = payload.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise UpstreamError(502, "no_client_secret", "No client_secret in response", request_id=reply.request_id)
        return ChatKitSession(
            client_secret=secret,
            expires_at=_int_or_none(payload.get("expires_at")) or int(time.time()) + 600,
            session_id=payload.get("id"),
            request_id=reply.request_id,
            latency_ms=reply.latency_ms,
        )

    def check_reachable(self, timeout):
        """(ok, detail) for the readiness probe: any HTTP answer from OPENAI_BASE_URL within `timeout` counts,
        except a refused API key or a server error. Lists models, which costs nothing."""
        try:
            response = self.session.get(
                f"{self.base_url}/models", headers={"Authorization": f"Bearer {self.settings.openai.api_key}"},
                timeout=(min(timeout, self.timeout[0]), timeout), stream=True,
            )
            response.close()
        except requests.exceptions.RequestException as error:
            return False, f"OpenAI unreachable at {self.base_url} ({_describe(error)})"
        if response.status_code in (401, 403):
            return False, f"OpenAI rejected the API key (HTTP {response.status_code}): check OPENAI_API_KEY"
        if response.status_code >= 500:
            return False, f"OpenAI answered HTTP {response.status_code}"
        return True, f"OpenAI answered HTTP {response.status_code}"

    def list_chatkit_page(self, path, params):
        """One page of a hosted ChatKit list (`/chatkit/threads`, `/chatkit/threads/{id}/items`), for
        `flask chatkit export-hosted`; answers OpenAI's list object {data, has_more, last_id}."""
        failure = "Failed to read hosted ChatKit threads"
        headers = {"Authorization": f"Bearer {self.settings.openai.api_key}", "OpenAI-Beta": "chatkit_beta=v1"}
        started = time.perf_counter()
        try:
            response = self.session.get(
                f"{self.base_url}{path}", headers=headers, params=params, timeout=self.timeout, stream=True
            )
            body = _read_limited(response)
        except _OversizedBody:
            raise UpstreamError(502, "invalid_upstream_response", f"{failure}: the page was over 1 MiB") from None
        except requests.exceptions.RequestException as error:
            raise UpstreamError(
                502, "upstream_unreachable", f"{failure}: could not reach OpenAI at {self.base_url} ({_describe(error)})."
            ) from None
        request_id = response.headers.get("x-request-id")
        log.info("openai GET %s -> %d (x-request-id %s)", path, response.status_code, request_id)
        if response.status_code >= 400:
            raise _error_for(response, body, failure, request_id)
        reply = _Reply(response.status_code, body, response.headers, request_id, (time.perf_counter() - started) * 1000)
        return self._json(reply, failure)

    # --- plumbing --------------------------------------------------------------------------------

    def _post(self, path, failure, *, headers, **kwargs):
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self.settings.openai.api_key}", **headers}
        request_id = current_request_id()
        if request_id:
            # OpenAI logs it beside its own x-request-id, so one id finds a mint in both sides' logs.
            headers["X-Client-Request-Id"] = request_id
        started = time.perf_counter()
        for attempt in range(MAX_RETRIES + 1):
            last_attempt = attempt == MAX_RETRIES
            attempt_started = time.perf_counter()
            try:
                response = self._send(requests.Request("POST", url, headers=headers, **kwargs))
                body = _read_limited(response)
            except requests.exceptions.ReadTimeout:
                observe_upstream(path, "timeout", time.perf_counter() - attempt_started)
                log.warning("openai POST %s timed out after %.1f s", path, time.perf_counter() - started)
                raise UpstreamError(
                    504, "upstream_timeout",
                    f"{failure}: OpenAI did not answer within {self.settings.openai.timeout_seconds:g} s. "
                    "Try again; if it keeps happening, check status.openai.com or raise OPENAI_TIMEOUT_SECONDS.",
                ) from None
            except _OversizedBody:
                raise UpstreamError(
                    502, "invalid_upstream_response",
                    f"{failure}: OpenAI's response was larger than {MAX_UPSTREAM_BODY_BYTES // 1024} KiB",
                ) from None
            except requests.exceptions.RequestException as error:
                observe_upstream(path, "unreachable", time.perf_counter() - attempt_started)
                log.warning("openai POST %s failed (attempt %d): %s: %s", path, attempt + 1, type(error).__name__, error)
                if not last_attempt:
                    time.sleep(RETRY_BACKOFF_SECONDS[attempt])
                    continue
                raise UpstreamError(
                    502, "upstream_unreachable",
                    f"{failure}: could not reach OpenAI at {self.base_url} ({_describe(error)}). "
                    "Check the server's network and OPENAI_BASE_URL.",
                ) from None
            latency_ms = (time.perf_counter() - started) * 1000
            observe_upstream(path, response.status_code, time.perf_counter() - attempt_started)
            request_id = response.headers.get("x-request-id")
            log.info("openai POST %s -> %d in %.0f ms (x-request-id %s)", path, response.status_code, latency_ms, request_id)
            if response.status_code == 429 or response.status_code >= 500:
                retry_after = _retry_after_seconds(response)
                wait = RETRY_BACKOFF_SECONDS[min(attempt, len(RETRY_BACKOFF_SECONDS) - 1)] if retry_after is None else retry_after
                if not last_attempt and wait <= MAX_RETRY_AFTER_SECONDS:
                    time.sleep(wait)
                    continue
            if response.status_code >= 400:
                model = self.settings.realtime.model if path.startswith("/realtime") else None
                raise _error_for(response, body, failure, request_id, realtime_model=model)
            return _Reply(response.status_code, body, response.headers, request_id, latency_ms)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(self, request):
        # Straight to the pooled adapter: Session.send would merge cookies, hooks and settings we never use,
        # a third of requests' CPU per mint (docs/performance.md). `responses` mocks this same adapter.
        return self.adapter.send(request.prepare(), stream=True, timeout=self.timeout,
                                 verify=self.session.verify, proxies=self.session.proxies)

    @staticmethod
    def _json(reply, failure):
        try:
            payload = json.loads(reply.body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise UpstreamError(
                502, "invalid_upstream_response", f"{failure}: OpenAI answered with something that is not JSON",
                request_id=reply.request_id,
            )
        return payload


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: dict
    request_id: str | None
    latency_ms: float


class _OversizedBody(Exception):
    pass


def _read_limited(response):
    try:
        body = response.raw.read(MAX_UPSTREAM_BODY_BYTES + 1, decode_content=True)
        if len(body) > MAX_UPSTREAM_BODY_BYTES:
            raise _OversizedBody()
        return body
    except Exception as error:
        # urllib3 raises its own errors for a reset mid-body; treat them like requests' connection errors.
        if isinstance(error, (_OversizedBody, requests.exceptions.RequestException)):
            raise
        raise requests.exceptions.ConnectionError(str(error)) from error
    finally:
        response.close()


def _describe(error):
    text = str(error)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if "Name or service not known" in text or "Failed to resolve" in text:
        return "host name not found"
    if any(word in text.lower() for word in ("reset", "aborted", "broken", "incompleteread")):
        return "connection reset"
    return type(error).__name__


def _int_or_none(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _realtime_access_hint(model):
    # The usual causes: a project key without Realtime access, or a model name OpenAI no longer serves.
    return (f"Check that the API key's project has access to the Realtime API and to OPENAI_REALTIME_MODEL "
            f"({model}); a retired or misspelt model name looks the same to OpenAI.")


def _error_for(response, body, failure, request_id, realtime_model=None):
    status = response.status_code
    message = _openai_message(body)
    detail = message or f"OpenAI answered HTTP {status}"
    if realtime_model and status in (403, 404):
        detail = detail.rstrip(".") + f". {_realtime_access_hint(realtime_model)}"
    if status == 429:
        retry_after = _retry_after_seconds(response)
        return UpstreamError(
            429, "rate_limited", f"{failure}: OpenAI is rate-limiting this API key: {detail}",
            retry_after=int(retry_after) + 1 if retry_after is not None else 10,
            request_id=request_id, upstream_status=status,
        )
    if status == 401:
        detail += " (OpenAI rejected the API key: check OPENAI_API_KEY)"
    if not detail.endswith((".", ")")):
        detail += "."
    return UpstreamError(502, "upstream_error", f"{failure}: {detail}", request_id=request_id, upstream_status=status)
