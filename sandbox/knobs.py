"""The sandbox's test and benchmark knobs (POST /_sandbox/control): what each may be set to, and taking one."""

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass
class Knobs:
    """What POST /_sandbox/control sets; `reset` puts these defaults back."""

    mint_latency_ms: float = 0
    sdp_latency_ms: float = 0
    fail_next_mints: dict = field(default_factory=lambda: {"count": 0, "status": 500})
    reject_next_calls: dict = field(default_factory=lambda: {"count": 0, "status": 500})
    unreachable_ice: bool = False
    expire_next_secrets: int = 0
    # How the next response ends instead of completing, e.g. {"status": "failed"} or
    # {"status": "incomplete", "reason": "content_filter"}; None: it completes.
    next_response: dict | None = None
    # What the next committed speech is transcribed as (once), e.g. "Which pipelines failed last night?", so a
    # browser test can speak a question; None: "(sandbox heard N s of speech)".
    next_transcript: str | None = None
    # Milliseconds between a function call's argument deltas: raise it to give a test time to interrupt a call.
    function_call_delta_ms: float = 10
    # The day the sandbox stands on (YYYY-MM-DD), which decides the models it still serves; None: the machine's.
    today: str | None = None


def take_one(counter):
    """Decrements a {count, status} knob; returns the status when one was taken, else None."""
    if counter.get("count", 0) > 0:
        counter["count"] -= 1
        return counter.get("status", 500)
    return None


INCOMPLETE_REASONS = ("content_filter", "max_output_tokens")
# What OpenAI reports when the organisation is out of credit (the most common failed response).
QUOTA_ERROR = {"type": "insufficient_quota", "code": "insufficient_quota"}


def response_outcome(value):
    """The next_response knob as a response's final {status, status_details}, or ValueError saying what is wrong."""
    if value is None:
        return None
    status = value.get("status") if isinstance(value, dict) else None
    if status == "failed":
        error = value.get("error", QUOTA_ERROR)
        if not isinstance(error, dict) or set(error) - {"type", "code"}:
            raise ValueError('next_response.error must be an object like {"type": "...", "code": "..."}')
        return {"status": "failed", "status_details": {"type": "failed", "error": dict(error)}}
    if status == "incomplete":
        reason = value.get("reason", "content_filter")
        if reason not in INCOMPLETE_REASONS:
            raise ValueError(f"next_response.reason must be one of {list(INCOMPLETE_REASONS)}")
        return {"status": "incomplete", "status_details": {"type": "incomplete", "reason": reason}}
    raise ValueError('next_response must be {"status": "failed"} or {"status": "incomplete", "reason": ...}')


def checked_knobs(knobs):
    """The knobs of a control request, converted to their types, or TypeError/ValueError saying what is wrong."""
    allowed = set(asdict(Knobs())) | {"reset"}
    if not isinstance(knobs, dict) or set(knobs) - allowed:
        unknown = sorted(set(knobs) - allowed) if isinstance(knobs, dict) else knobs
        raise ValueError(f"unknown knobs {unknown}; allowed: {sorted(allowed)}")
    checked = {}
    for name, value in knobs.items():
        if name in ("fail_next_mints", "reject_next_calls"):
            if not isinstance(value, dict):
                raise TypeError(f"{name} must be an object like {{\"count\": 1, \"status\": 500}}")
            value = {"count": int(value.get("count", 1)), "status": int(value.get("status", 500))}
            if not 400 <= value["status"] <= 599:
                raise ValueError(f"{name}.status must be an HTTP error status (400-599)")
        elif name in ("unreachable_ice", "reset"):
            value = bool(value)
        elif name == "expire_next_secrets":
            value = int(value)
        elif name == "next_response":
            value = response_outcome(value)
        elif name == "today":
            if value is not None:
                date.fromisoformat(value if isinstance(value, str) else "")  # ValueError names the bad value
        elif name == "next_transcript":
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError("next_transcript must be a non-empty string, or null")
        else:
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"{name} must not be negative")
        checked[name] = value
    return checked
