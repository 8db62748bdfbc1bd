"""`python -m examples.warehouse_mcp --port 0`: an example MCP server (Streamable HTTP) with warehouse tools.

Offers list_tables() and row_count(table), annotated read-only, and drop_table(table), annotated destructive, over
Streamable HTTP at /mcp, for requests carrying
`Authorization: Bearer <token>` (--token, default $WAREHOUSE_MCP_TOKEN). Prints
"warehouse MCP listening on http://127.0.0.1:N/mcp" once it accepts connections.
In a test: `with running(token) as url: ...` serves it from a thread on a free loopback port.
"""

import argparse
import contextlib
import os
import socket
import threading

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

TABLES = {"events": 1_204_332, "pipelines": 42, "runs": 9_876, "customers": 5_310}
# What the console reads to decide whether a call needs the admin's approval (docs/agent.md).
READS = ToolAnnotations(read_only_hint=True, destructive_hint=False)
DESTROYS = ToolAnnotations(read_only_hint=False, destructive_hint=True)


def create_server():
    server = MCPServer("warehouse", instructions="Read-only facts about the data warehouse's tables.", log_level="WARNING")

    @server.tool(annotations=READS)
    def list_tables() -> str:
        """The warehouse's tables, one per line."""
        return "\n".join(sorted(TABLES))

    @server.tool(annotations=READS)
    def row_count(table: str) -> str:
        """How many rows a warehouse table holds."""
        if table not in TABLES:
            raise ToolError(f"no table named {table!r}; tables: {', '.join(sorted(TABLES))}")
        return f"{table}: {TABLES[table]:,} rows"

    @server.tool(annotations=DESTROYS)
    def drop_table(table: str) -> str:
        """Deletes a table (an example of a tool an agent file leaves out with allowed_tools; without them, it asks)."""
        return f"{table} would be dropped"

    return server


def create_app(token):
    """The ASGI app: the MCP endpoint behind a bearer-token check."""
    inner = create_server().streamable_http_app(host="127.0.0.1")
    expected = f"Bearer {token}".encode()

    async def app(scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": b"a valid bearer token is required\n"})
            return
        await inner(scope, receive, send)

    return app


def bind(host, port):
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)  # connections wait in the backlog until uvicorn accepts, so "listening" is true when printed
    return listener


def make_server(token, host="127.0.0.1"):
    return uvicorn.Server(uvicorn.Config(create_app(token), host=host, log_level="warning", lifespan="on"))


@contextlib.contextmanager
def running(token, host="127.0.0.1", port=0):
    """Serves the example from a thread on `port` (0: a free one); yields its MCP URL and stops it on exit."""
    listener = bind(host, port)
    server = make_server(token, host)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the example MCP server did not start")
            thread.join(0.01)
        yield f"http://{host}:{listener.getsockname()[1]}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.warehouse_mcp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--token", default=os.environ.get("WAREHOUSE_MCP_TOKEN"), help="bearer token (default $WAREHOUSE_MCP_TOKEN)")
    arguments = parser.parse_args(argv)
    if not arguments.token:
        parser.error("set --token or WAREHOUSE_MCP_TOKEN")
    listener = bind(arguments.host, arguments.port)
    server = make_server(arguments.token, arguments.host)
    print(f"warehouse MCP listening on http://{arguments.host}:{listener.getsockname()[1]}/mcp", flush=True)
    server.run(sockets=[listener])  # uvicorn stops on SIGINT/SIGTERM


if __name__ == "__main__":
    main()
