"""What the voice page's status panel shows, and its Test connection: a mint through the mint route's own code path."""

import hashlib
import time

import activity
from core.errors import ApiError
from core.openai_catalog import DEFAULT_BASE_URL
from core.openai_http import mask_secret
from realtime.minting import mint_for_admin

INSTRUCTIONS_EXCERPT_CHARS = 120


def voice_status(settings, admin, tools=None, roles=()):
    """Everything the status panel shows; `version` changes whenever anything shown changes. `tools`: the app's
    agent.mcp_tools.AgentTools, or None without AGENT_FILE (read as listed: the panel's polling never refreshes);
    `roles`: the admin's, so the panel lists only the tools they may use."""
    instructions = settings.realtime.instructions or ""
    if settings.openai.sandbox:
        upstream = "Sandbox"
    elif settings.openai.base_url == DEFAULT_BASE_URL:
        upstream = "OpenAI"
    else:
        upstream = f"OpenAI-compatible server at {settings.openai.base_url}"
    status = {
        "connect_mode": settings.realtime.connect,
        "model": settings.realtime.model,
        "voice": settings.realtime.voice,
        "modalities": ", ".join(settings.realtime.output_modalities),
        "instructions_excerpt": (
            instructions[:INSTRUCTIONS_EXCERPT_CHARS] + "…" if len(instructions) > INSTRUCTIONS_EXCERPT_CHARS else instructions
        ),
        "masked_key": mask_secret(settings.openai.api_key),
        "upstream": upstream,
        "missing": settings.missing_for_voice(),
        # The deprecation warning start-up logs (settings.warnings), so an admin sees it without reading logs.
        "warnings": tuple(w for w in settings.warnings if w.startswith("OPENAI_REALTIME_MODEL=")),
        "last_mint": activity.last_mint(admin),
        **agent_status(settings, tools, roles),
    }
    status["version"] = hashlib.sha256(repr(sorted(status.items())).encode()).hexdigest()[:16]
    return status


def agent_status(settings, tools, roles=None):
    """The agent file in use, its tools that `roles` may use (name, whether each needs approval, where it comes
    from) and, in words, each MCP server whose tools are missing."""
    if settings.agent is None or tools is None:
        return {"agent_file": None, "agent_tools": (), "agent_problems": ()}
    listed = tuple((tool["name"], tool["confirm"], tool["source"]) for tool in tools.listed(roles))
    problems = tuple(f"{message}; its tools are missing until it answers" for _label, message in sorted(tools.problems.items()))
    return {"agent_file": settings.agent.path, "agent_tools": listed, "agent_problems": problems}


def run_connection_test(settings, client, admin, openai_id):
    """Mints a secret through the mint endpoint's own code path, records it as a test for `admin` (the name), and
    forgets the secret; OpenAI sees `openai_id` (g.admin_openai_id)."""
    started = time.perf_counter()
    try:
        _data, minted = activity.recorded_mint("test", admin, lambda: mint_for_admin(settings, client, openai_id, {}))
    except ApiError as error:
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = getattr(error, "request_id", None)
        return {
            "ok": False, "latency_ms": latency_ms, "request_id": request_id, "code": error.code,
            "message": error.message,
            "summary": f"Test connection failed after {latency_ms:.0f} ms ({error.code}): {error.message}",
        }
    return {
        "ok": True, "latency_ms": minted.latency_ms, "request_id": minted.request_id, "code": None, "message": None,
        "summary": f"Test connection minted a secret in {minted.latency_ms:.0f} ms"
        + (f" (request id {minted.request_id})." if minted.request_id else "."),
    }
