"""The sandbox's HTTP side: OpenAI's Realtime and ChatKit endpoints on aiohttp, plus test and benchmark knobs.

Routes live in one table (`Sandbox.routes`); sandbox/responses.py adds its own with
`routes(sandbox) -> [(method, path, handler), ...]`, using `sandbox.require_api_key(request)` and sandbox/errors.py.
"""

import asyncio
import collections
import json
import logging
import re
import secrets
import socket
import time
from dataclasses import asdict, dataclass

from aiohttp import web

from core.clock import SYSTEM_CLOCK
from core.openai_catalog import DEFAULT_REALTIME_MODEL, MAX_SESSION_MINUTES
from sandbox import responses, sideband
from sandbox.errors import OpenAIError, injected_failure, json_body, raise_violation
from sandbox.knobs import Knobs, checked_knobs, take_one
from sandbox.peer import RealtimePeer
from sandbox.session import (
    apply_session_fields,
    default_session,
    model_refusal,
    new_id,
    request_violation,
)

log = logging.getLogger(__name__)

API_KEY = "sk-sandbox"
REQUEST_ID = web.RequestKey("request_id", str)
BETA_GONE = "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
MAX_OFFER_BYTES = 64 * 1024
MAX_SECRETS_KEPT = 10_000
# The events of the newest calls, both ways, for tests and for reading what happened (GET /_sandbox/calls/...).
RECORDED_CALLS = 20
RECORDED_EVENTS_PER_CALL = 2000
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Expose-Headers": "Location, x-request-id",
    "Access-Control-Max-Age": "600",
}


@dataclass
class SandboxOptions:
    api_key: str = API_KEY
    answer_audio: str = "auto"  # "auto": espeak-ng speech when installed, else a tone; "tone": always a tone
    max_session_seconds: float = MAX_SESSION_MINUTES * 60  # then OpenAI ends it with error session_expired


@dataclass
class MintedSecret:
    expires_at: float
    session: dict
    invalid: bool = False  # set by expire_next_secrets: refused at /calls as if it had expired


def _text_of(body):
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise OpenAIError(400, "Invalid SDP offer: it is not UTF-8 text.", "invalid_offer", param="sdp") from None


def _unreachable(answer_sdp):
    """The answer with every candidate moved to a UDP port where nothing listens, so the browser's ICE fails.

    Chromium ignores candidates on ports below 1024 (port 9 would leave ICE stuck at "new", not failed), so the
    port is a free high one: bound for a moment to find it, then released.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    answer_sdp = re.sub(r"^(a=candidate:\S+ \d+ \S+ \d+ \S+) \d+ ", rf"\g<1> {port} ", answer_sdp, flags=re.MULTILINE)
    return re.sub(r"^m=audio \d+ ", f"m=audio {port} ", answer_sdp, flags=re.MULTILINE)


class Sandbox:
    """State shared by the handlers: minted secrets, open calls, counters and knobs."""

    def __init__(self, options):
        self.options = options
        self.knobs = Knobs()
        self.secrets = {}
        self.peers = {}
        self.chatkit_sessions = {}
        self.counts = {"mints": 0, "mints_failed": 0, "calls": 0, "calls_rejected": 0, "chatkit_sessions": 0,
                       "session_updates": 0, "sideband_joins": 0}
        self.last_session = None
        self.last_session_update = None
        self.recorded = collections.OrderedDict()  # call id -> its events, both ways, newest calls last

    def today(self):
        """The day that decides which models are served: the `today` knob, else the machine's (OpenAI's is UTC)."""
        return self.knobs.today or SYSTEM_CLOCK.today()

    def routes(self):
        return [
            ("POST", "/v1/realtime/client_secrets", self.create_client_secret),
            ("POST", "/v1/realtime/calls", self.create_call),
            # The beta interface, removed on 2026-05-12: OpenAI now answers it with 400 beta_api_shape_disabled.
            ("POST", "/v1/realtime/sessions", self.beta_shape),
            ("POST", "/v1/realtime/transcription_sessions", self.beta_shape),
            ("POST", "/v1/realtime", self.beta_shape),
            ("POST", "/v1/realtime/calls/{call_id}/hangup", self.hang_up_call),
            ("POST", "/v1/chatkit/sessions", self.create_chatkit_session),
            ("POST", "/v1/chatkit/sessions/{session_id}/cancel", self.cancel_chatkit_session),
            ("POST", "/_sandbox/control", self.control),
            ("GET", "/_sandbox/state", self.state),
            ("GET", "/_sandbox/calls/{call_id}/events", self.call_events),
        ]

    # --- authentication --------------------------------------------------------------------------

    def require_api_key(self, request):
        token = self._bearer(request)
        if token != self.options.api_key:
            raise self._bad_key(token)

    def _bearer(self, request):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise OpenAIError(401, "You didn't provide an API key. You need to provide your API key in an "
                                   "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                              "invalid_api_key")
        return header[7:].strip()

    @staticmethod
    def _bad_key(token):
        shown = f"{token[:3]}…{token[-4:]}" if len(token) > 10 else "***"
        return OpenAIError(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", "invalid_api_key")

    async def beta_shape(self, request):
        self.require_api_key(request)
        raise OpenAIError(400, BETA_GONE, "beta_api_shape_disabled", param="")

    def take_next_response(self):
        """The outcome the next_response knob set for the next response (once), or None."""
        outcome, self.knobs.next_response = self.knobs.next_response, None
        return outcome

    def take_next_transcript(self):
        """The transcript the next_transcript knob set for the next committed speech (once), or None."""
        said, self.knobs.next_transcript = self.knobs.next_transcript, None
        return said

    # --- POST /v1/realtime/client_secrets --------------------------------------------------------

    async def create_client_secret(self, request):
        await asyncio.sleep(self.knobs.mint_latency_ms / 1000)
        self.require_api_key(request)
        status = take_one(self.knobs.fail_next_mints)
        if status:
            self.counts["mints_failed"] += 1
            raise injected_failure(status, "mint")
        if request.headers.get("OpenAI-Beta", "").lower().startswith("realtime"):
            raise OpenAIError(400, BETA_GONE, "beta_api_shape_disabled", param="")
        body = await json_body(request)
        if not isinstance(body, dict):
            raise OpenAIError(400, "Invalid type for 'body': expected an object.", "invalid_type")
        if "session" not in body and set(body) - {"expires_after"}:
            raise OpenAIError(400, BETA_GONE, "beta_api_shape_disabled", param="")
        raise_violation(request_violation("RealtimeCreateClientSecretRequest", body))
        requested = body.get("session", {"type": "realtime"})
        if requested.get("type") != "realtime":
            raise OpenAIError(400, "The sandbox only emulates realtime sessions, not transcription sessions.",
                              "invalid_value", param="session.type")
        raise_violation(model_refusal(requested.get("model", DEFAULT_REALTIME_MODEL), self.today()), status=404)
        session = self._effective_session(requested)
        seconds = body.get("expires_after", {}).get("seconds", 600)
        now = time.time()
        self._forget_expired_secrets(now)
        value = "ek_" + secrets.token_hex(16)
        invalid = self.knobs.expire_next_secrets > 0
        if invalid:
            self.knobs.expire_next_secrets -= 1
        self.secrets[value] = MintedSecret(expires_at=now + seconds, session=session, invalid=invalid)
        self.counts["mints"] += 1
        self.last_session = session
        return web.json_response({"value": value, "expires_at": int(now + seconds), "session": session})

    @staticmethod
    def _effective_session(requested):
        changes = {k: v for k, v in requested.items() if k != "type"}
        return apply_session_fields(default_session(requested.get("model", DEFAULT_REALTIME_MODEL)), changes)

    def _forget_expired_secrets(self, now):
        # Benchmarks mint thousands: keep memory flat by dropping expired secrets, then the oldest ones.
        if len(self.secrets) > MAX_SECRETS_KEPT:
            alive = [(k, v) for k, v in self.secrets.items() if v.expires_at > now]
            self.secrets = dict(alive[-MAX_SECRETS_KEPT // 2:])

    # --- POST /v1/realtime/calls -----------------------------------------------------------------

    async def create_call(self, request):
        await asyncio.sleep(self.knobs.sdp_latency_ms / 1000)
        token = self._bearer(request)
        offer, session = await self._offer_and_session(request, token)
        status = take_one(self.knobs.reject_next_calls)
        if status:
            self.counts["calls_rejected"] += 1
            raise injected_failure(status, "call")
        if not offer.lstrip().startswith("v=0"):
            raise OpenAIError(400, "Invalid SDP offer: it must start with 'v=0'.", "invalid_offer", param="sdp")
        call_id = "rtc_" + secrets.token_hex(16)
        session = {**session, "id": new_id("sess_")}
        peer = RealtimePeer(call_id, session, answer_audio_mode=self.options.answer_audio,
                            max_session_seconds=self.options.max_session_seconds,
                            on_closed=self._peer_closed, on_session_update=self._session_updated,
                            next_response=self.take_next_response, next_transcript=self.take_next_transcript,
                            function_call_pace=lambda: self.knobs.function_call_delta_ms / 1000,
                            record=self._record_for(call_id))
        try:
            answer = await peer.answer(offer)
        except Exception as error:  # aiortc raises ValueError, KeyError, ... for offers it cannot use
            await peer.close()
            raise OpenAIError(400, f"Invalid SDP offer: {error or type(error).__name__}.", "invalid_offer",
                              param="sdp") from None
        if self.knobs.unreachable_ice:
            await peer.close()  # nobody may answer the browser's checks, or it would find this peer anyway
            answer = _unreachable(answer)
        else:
            self.peers[call_id] = peer
        self.counts["calls"] += 1
        self.last_session = session
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": f"/v1/realtime/calls/{call_id}"})

    async def _offer_and_session(self, request, token):
        """(offer SDP, effective session) for either form of the call, or the 400/401 OpenAI answers."""
        if request.content_length and request.content_length > MAX_OFFER_BYTES:
            raise OpenAIError(400, "The SDP offer is too large.", "invalid_offer", param="sdp")
        if request.content_type == "multipart/form-data":
            if token != self.options.api_key:
                raise self._bad_key(token)
            parts = {}
            async for part in await request.multipart():
                parts[part.name] = _text_of(await part.read())
            if "sdp" not in parts:
                raise OpenAIError(400, "Missing required parameter: 'sdp'.", "missing_required_parameter",
                                  param="sdp")
            try:
                requested = json.loads(parts["session"]) if "session" in parts else {"type": "realtime"}
            except ValueError:
                raise OpenAIError(400, "Invalid 'session': expected a JSON object.", "invalid_value",
                                  param="session") from None
            if not isinstance(requested, dict):
                raise OpenAIError(400, "Invalid 'session': expected a JSON object.", "invalid_value", param="session")
            raise_violation(request_violation("RealtimeSessionCreateRequestGA", requested, prefix="session."))
            raise_violation(model_refusal(requested.get("model", DEFAULT_REALTIME_MODEL), self.today()), status=404)
            return parts["sdp"], self._effective_session(requested)
        if request.content_type != "application/sdp":
            raise OpenAIError(400, f"Unsupported content type '{request.content_type}': send application/sdp, "
                                   "or multipart/form-data with 'sdp' and 'session' parts.", "invalid_value")
        offer = _text_of(await request.read())
        if token == self.options.api_key:
            return offer, self._effective_session({"type": "realtime"})
        minted = self.secrets.get(token)
        if minted is None or minted.invalid or minted.expires_at <= time.time():
            raise self._bad_key(token)
        return offer, minted.session

    async def hang_up_call(self, request):
        self.require_api_key(request)
        peer = self.peers.get(request.match_info["call_id"])
        if peer is None:
            raise sideband.call_not_found(400)
        await peer.close()
        return web.Response(status=200)

    def _record_for(self, call_id):
        record = self.recorded[call_id] = collections.deque(maxlen=RECORDED_EVENTS_PER_CALL)
        while len(self.recorded) > RECORDED_CALLS:
            self.recorded.popitem(last=False)
        return record

    def _peer_closed(self, peer):
        self.peers.pop(peer.call_id, None)

    def _session_updated(self, peer, update):
        self.counts["session_updates"] += 1
        self.last_session_update = update

    # --- POST /v1/chatkit/sessions ---------------------------------------------------------------

    async def create_chatkit_session(self, request):
        await asyncio.sleep(self.knobs.mint_latency_ms / 1000)
        self.require_api_key(request)
        if request.headers.get("OpenAI-Beta") != "chatkit_beta=v1":
            raise OpenAIError(400, "ChatKit requires the header OpenAI-Beta: chatkit_beta=v1.", "invalid_beta")
        body = await json_body(request)
        if not isinstance(body, dict):
            raise OpenAIError(400, "Invalid type for 'body': expected an object.", "invalid_type")
        raise_violation(request_violation("CreateChatSessionBody", body))
        workflow = body["workflow"]
        if workflow["id"] == "wf_missing":
            raise OpenAIError(404, f"Workflow with id '{workflow['id']}' not found.", "not_found",
                              param="workflow.id")
        limit = body.get("rate_limits", {}).get("max_requests_per_1_minute", 10)
        configuration = body.get("chatkit_configuration", {})
        resource = {
            "id": new_id("cksess_"),
            "object": "chatkit.session",
            "expires_at": int(time.time()) + body.get("expires_after", {}).get("seconds", 600),
            "client_secret": "ek_" + secrets.token_hex(16),
            "workflow": {"id": workflow["id"], "version": workflow.get("version"),
                         "state_variables": workflow.get("state_variables"),
                         "tracing": {"enabled": workflow.get("tracing", {}).get("enabled", True)}},
            "user": body["user"],
            "rate_limits": {"max_requests_per_1_minute": limit},
            "max_requests_per_1_minute": limit,
            "status": "active",
            "chatkit_configuration": {
                "automatic_thread_titling": {
                    "enabled": configuration.get("automatic_thread_titling", {}).get("enabled", True)},
                "file_upload": {"enabled": False, "max_file_size": None, "max_files": None,
                                **configuration.get("file_upload", {})},
                "history": {"enabled": True, "recent_threads": None, **configuration.get("history", {})},
            },
        }
        self.chatkit_sessions[resource["id"]] = resource
        self.counts["chatkit_sessions"] += 1
        return web.json_response(resource)

    async def cancel_chatkit_session(self, request):
        self.require_api_key(request)
        resource = self.chatkit_sessions.get(request.match_info["session_id"])
        if resource is None:
            raise OpenAIError(404, f"ChatKit session '{request.match_info['session_id']}' not found.", "not_found")
        resource["status"] = "cancelled"
        return web.json_response(resource)

    # --- test and benchmark hooks ----------------------------------------------------------------

    async def control(self, request):
        knobs = await json_body(request)
        try:
            changes = checked_knobs(knobs)
        except (TypeError, ValueError) as error:
            return web.json_response({"error": str(error)}, status=400)
        if changes.pop("reset", False):
            self.knobs = Knobs()
            for name in self.counts:
                self.counts[name] = 0
            self.last_session = self.last_session_update = None
        for name, value in changes.items():
            setattr(self.knobs, name, value)
        return web.json_response(asdict(self.knobs))

    async def state(self, request):
        return web.json_response({
            **self.counts,
            "open_peers": len(self.peers),
            "peers": [{"call_id": p.call_id, "connection_state": p.connection_state, "events_sent": p.events_sent,
                       "events_received": p.events_received, "sidebands": len(p.sidebands)}
                      for p in self.peers.values()],
            "last_session": self.last_session,
            "last_session_update": self.last_session_update,
            "recorded_calls": list(self.recorded),
            "knobs": asdict(self.knobs),
        })

    async def call_events(self, request):
        """Every event of one of the newest calls, both ways, in order: [{"from": "client"|"server", "event"}]."""
        call_id = request.match_info["call_id"]
        if call_id not in self.recorded:
            return web.json_response({"error": f"no recorded call {call_id!r}; recorded: {list(self.recorded)}"},
                                     status=404)
        return web.json_response({"call_id": call_id, "events": list(self.recorded[call_id])})

    async def close_peers(self, app=None):
        await asyncio.gather(*(peer.close() for peer in list(self.peers.values())), return_exceptions=True)


@web.middleware
async def openai_errors(request, handler):
    """OpenAI's envelope for every /v1 failure, and CORS preflights answered before routing, as api.openai.com does."""
    request[REQUEST_ID] = "req_" + secrets.token_hex(16)
    is_api = request.path.startswith("/v1/")
    if is_api and request.method == "OPTIONS":
        requested = request.headers.get("Access-Control-Request-Headers", "Authorization, Content-Type")
        return web.Response(status=204, headers={"Access-Control-Allow-Headers": requested})
    try:
        return await handler(request)
    except OpenAIError as error:
        return error.response()
    except web.HTTPException as error:
        if not is_api or error.status < 400:
            raise
        return OpenAIError(error.status, f"Invalid URL ({request.method} {request.path})"
                           if error.status in (404, 405) else error.reason).response()
    except (ConnectionResetError, asyncio.CancelledError):
        raise  # the client went away
    except Exception:
        if not is_api:
            raise
        log.exception("%s %s failed", request.method, request.path)
        return OpenAIError(500, "The server had an error while processing your request. Sorry about that!",
                           error_type="server_error").response()


async def _stamp_headers(request, response):
    # A signal rather than the middleware, so streamed answers (SSE) get the headers before they are sent.
    response.headers.setdefault("x-request-id", request.get(REQUEST_ID) or "req_" + secrets.token_hex(16))
    if request.path.startswith("/v1/"):
        for name, value in CORS_HEADERS.items():
            response.headers.setdefault(name, value)


SANDBOX = web.AppKey("sandbox", Sandbox)  # app[SANDBOX]: the state, for tests and extension modules


def create_sandbox_app(**options):
    """The aiohttp application; options are SandboxOptions fields (api_key, answer_audio, max_session_seconds)."""
    sandbox = Sandbox(SandboxOptions(**options))
    app = web.Application(middlewares=[openai_errors], client_max_size=2 * 1024 * 1024)
    app[SANDBOX] = sandbox
    for method, path, handler in sandbox.routes() + responses.routes(sandbox) + sideband.routes(sandbox):
        app.router.add_route(method, path, handler)
    app.on_response_prepare.append(_stamp_headers)
    app.on_shutdown.append(sandbox.close_peers)
    return app
