"""Upstream answers shaped like OpenAI's, for the responses mocks (checked against the spec in test_openai_contract)."""

from sandbox.session import default_session

MINTED_SECRET = "ek_68af296e8e408191a1120ab6383263c2"
CHATKIT_SECRET = "cks_secret_0123456789abcdefghij"


def client_secret_response(value=MINTED_SECRET, voice="alloy", model="gpt-realtime-2.1"):
    """A client secret answer around the session the sandbox reports (sandbox/session.py, the GA shape's one home)."""
    session = default_session(model)
    session["id"] = "sess_C9CiUVUzUzYIssh3ELY1d"
    session["audio"]["output"]["voice"] = voice
    return {"value": value, "expires_at": 1956310470, "session": session}


def chatkit_session_response(secret=CHATKIT_SECRET, workflow_id="wf_test123", user="admin_x"):
    return {
        "id": "cksess_123",
        "object": "chatkit.session",
        "expires_at": 1956310470,
        "client_secret": secret,
        "workflow": {"id": workflow_id, "version": None, "state_variables": None, "tracing": {"enabled": True}},
        "user": user,
        "rate_limits": {"max_requests_per_1_minute": 10},
        "max_requests_per_1_minute": 10,
        "status": "active",
        "chatkit_configuration": {
            "automatic_thread_titling": {"enabled": True},
            "file_upload": {"enabled": False, "max_file_size": None, "max_files": None},
            "history": {"enabled": True, "recent_threads": None},
        },
    }


ANSWER_SDP = (
    "v=0\r\no=- 4227147428 1719357865 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n"
)
OFFER_SDP = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
)


def openai_error(message, code=None, type_="invalid_request_error", param=None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
