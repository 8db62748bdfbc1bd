"""One agent for voice and chat: its file (definition), its tools (mcp_tools.AgentTools) and how a call runs (executor)."""
