"""Upstream answers shaped like OpenAI's, for the responses mocks (checked against the spec in test_openai_contract)."""

MINTED_SECRET = "ek_68af296e8e408191a1120ab6383263c2"
CHATKIT_SECRET = "cks_secret_0123456789abcdefghij"


def client_secret_response(value=MINTED_SECRET, voice="alloy", model="gpt-realtime-2.1"):
    return {
        "value": value,
        "expires_at": 1956310470,
        "session": {
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_C9CiUVUzUzYIssh3ELY1d",
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "You are a friendly assistant.",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "expires_at": 0,
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                       "silence_duration_ms": 200, "idle_timeout_ms": None,
                                       "create_response": True, "interrupt_response": True},
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice, "speed": 1.0},
            },
        },
    }


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
