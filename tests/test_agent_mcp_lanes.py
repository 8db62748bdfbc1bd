"""MCP tools stay in their lane: they ask for approval unless they say they only read, and their answers are bounded
in size, time and where they may come from, like the HTTP tools'."""

import asyncio
import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from agent.definition import load_definition
from agent.mcp_tools import AgentTools
from core.config import tool_settings
from examples import warehouse_mcp
from realtime.status import agent_status

TOKEN = "mcp-token-very-secret"
AGENT = '''
instructions = "You help the admins."

[[mcp_servers]]
label = "warehouse"
url = "${MCP_URL}"
headers = { Authorization = "Bearer ${MCP_TOKEN}" }
timeout_seconds = 10
'''


def _odd_server():
    server = MCPServer("odd", log_level="WARNING")

    @server.tool()
    def purge_cache() -> str:
        """Says nothing about what it does."""
        return "purged"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, destructive_hint=True))
    def confused() -> str:
        """Says it reads and destroys."""
        return "confused"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def dump() -> str:
        """A read that answers 100,000 characters."""
        return "d" * 100_000

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def slow() -> str:
        """A read that takes a minute."""
        await asyncio.sleep(60)
        return "late"

    return server


@contextlib.contextmanager
def _serving(asgi_app):
    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    listener = warehouse_mcp.bind("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def warehouse_url():
    with warehouse_mcp.running(TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def odd_url():
    with _serving(_odd_server().streamable_http_app(host="127.0.0.1")) as url:
        yield url


@pytest.fixture
def load(tmp_path):
    def load(url, text=AGENT):
        path = tmp_path / "agent.toml"
        path.write_text(text)
        return load_definition(str(path), {"MCP_URL": url, "MCP_TOKEN": TOKEN})

    return load


def code_of(tools, name, arguments="{}", **kwargs):
    with pytest.raises(Exception) as raised:
        tools.run(name, arguments, **kwargs)
    return raised.value.code, raised.value.message


# --- 2. MCP tools ask unless they are read-only -----------------------------------------------------------------


def test_without_allowed_tools_the_destructive_drop_table_asks_and_the_reads_do_not(load, warehouse_url):
    tools = AgentTools(load(warehouse_url))
    assert {name: tools.needs_approval(name) for name in ("list_tables", "row_count", "drop_table")} == {
        "list_tables": False, "row_count": False, "drop_table": True}
    assert code_of(tools, "drop_table", '{"table": "runs"}')[0] == "approval_required"
    assert tools.run("drop_table", '{"table": "runs"}', approved=True).output == "runs would be dropped"


def test_a_tool_without_read_only_hint_asks_and_so_does_one_that_also_says_destructive(load, odd_url):
    tools = AgentTools(load(odd_url))
    assert (tools.needs_approval("purge_cache"), tools.needs_approval("confused"), tools.needs_approval("dump")) == (
        True, True, False)
    assert code_of(tools, "purge_cache")[0] == "approval_required"


def test_no_confirm_lets_a_named_tool_run_without_asking(load, odd_url):
    tools = AgentTools(load(odd_url, AGENT + 'no_confirm = ["purge_cache"]\n'))
    assert tools.needs_approval("purge_cache") is False and tools.run("purge_cache", "{}").output == "purged"


def test_confirm_true_makes_even_the_reads_ask(load, warehouse_url):
    tools = AgentTools(load(warehouse_url, AGENT + "confirm = true\n"))
    assert tools.needs_approval("list_tables") is True


def test_the_status_panel_says_which_mcp_tools_ask(load, warehouse_url, make_app):
    tools = AgentTools(load(warehouse_url))

    class WithAgent:
        agent = tools.definition

    listed = {name: confirm for name, confirm, _source in agent_status(WithAgent, tools)["agent_tools"]}
    assert listed == {"list_tables": False, "row_count": False, "drop_table": True}


def test_extra_arguments_to_an_mcp_tool_are_refused(load, warehouse_url):
    tools = AgentTools(load(warehouse_url))
    code, message = code_of(tools, "row_count", '{"table": "runs", "where": "1=1"}')
    assert code == "invalid_arguments" and "'where' is not one" in message


# --- 4. the same limits for MCP results -------------------------------------------------------------------------


def test_an_mcp_answer_over_the_byte_limit_fails_the_call_in_words(load, odd_url):
    tools = AgentTools(load(odd_url), limits=tool_settings({"TOOL_MAX_RESPONSE_BYTES": str(64 * 1024)}))
    code, message = code_of(tools, "dump")
    assert code == "tool_failed" and "answered more than 65,536 bytes, the most a tool reads" in message
    assert TOKEN not in message


def test_an_mcp_answer_under_the_limit_is_cut_for_the_model_and_says_so(load, odd_url):
    output = AgentTools(load(odd_url)).run("dump", "{}").output
    assert output.endswith("[output cut: showing the first 8,000 of 100,000 characters]")


def test_a_slow_mcp_tool_ends_in_tool_timeout(load, odd_url):
    tools = AgentTools(load(odd_url, AGENT.replace("timeout_seconds = 10", "timeout_seconds = 1")))
    code, message = code_of(tools, "slow")
    assert code == "tool_timeout" and "did not answer within 1 seconds" in message


class _Recorder:
    def __init__(self, redirect_to=None):
        self.requests = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                recorder.requests.append(dict(self.headers))
                self.send_response(307 if redirect_to else 404)
                if redirect_to:
                    self.send_header("Location", redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_DELETE = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mcp"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_an_mcp_server_redirecting_elsewhere_is_not_followed_and_sends_no_header_there(load):
    elsewhere = _Recorder()
    redirecting = _Recorder(redirect_to=elsewhere.url)
    try:
        tools = AgentTools(load(redirecting.url))
        assert "not followed" in tools.problems["warehouse"]
        assert elsewhere.requests == [] and redirecting.requests
    finally:
        elsewhere.close()
        redirecting.close()


def test_an_mcp_call_ignores_proxy_variables_from_the_environment(load, warehouse_url, monkeypatch):
    proxy = _Recorder()
    try:
        for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(variable, proxy.url.removesuffix("/mcp"))
        for variable in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(variable, raising=False)
        assert AgentTools(load(warehouse_url)).run("list_tables", "{}").output.startswith("customers")
        assert proxy.requests == []
    finally:
        proxy.close()
