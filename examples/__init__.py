"""Stand-ins for the platform an agent file talks to: an HTTP API and an MCP server, for `make run` and the tests."""
