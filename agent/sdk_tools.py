"""The agent's tools as OpenAI Agents SDK FunctionTools, for the self-hosted chat agent (chat/agent.py).

API:

    sdk_function_tools(tools: AgentTools) -> list[agents.FunctionTool]

Each FunctionTool runs on the server through `tools.run` (in a worker thread, so the chat's event loop keeps
streaming). A tool with confirm = true gets needs_approval=True: the SDK interrupts the run and calls the tool only
after RunState.approve(); that is why the call itself passes approved=True. A ToolError becomes text for the model
("Error (tool_failed): ..."), so the agent can tell the admin what went wrong instead of the run failing.
"""

import asyncio

from agents import FunctionTool

from agent.executor import ToolError


def sdk_function_tools(tools):
    return [_function_tool(tools, spec) for spec in tools.function_tools()]


def _function_tool(tools, spec):
    name = spec["name"]

    async def invoke(_context, arguments_json):
        try:
            # Approval is the SDK's job here: with needs_approval it invokes only approved calls.
            result = await asyncio.to_thread(tools.run, name, arguments_json, approved=True)
        except ToolError as error:
            return f"Error ({error.code}): {error.message}"
        return result.output

    return FunctionTool(
        name=name,
        description=spec["description"],
        params_json_schema=spec["parameters"],
        on_invoke_tool=invoke,
        # The agent file's schemas are ordinary JSON schemas (optional properties, no additionalProperties: false),
        # which strict mode would reject; the server checks every call against them instead.
        strict_json_schema=False,
        needs_approval=tools.needs_approval(name),
    )
