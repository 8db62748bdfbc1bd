"""The agent's tools as OpenAI Agents SDK FunctionTools, for the self-hosted chat agent (chat/agent.py).

API:

    sdk_function_tools(tools: AgentTools, record=None, admit=None) -> list[agents.FunctionTool]
        record(run_context, name, ms, call_id, error_code)   # optional: called after every call (error_code None
                                                             # when it produced an output); chat records it as "chat"
        admit(run_context, name) -> roles                    # optional: called before every call; raises an ApiError
                                                             # to refuse it (chat: rate_limited over TOOL_RATE_LIMIT)
                                                             # and answers the roles the call runs with

Each FunctionTool runs on the server through `tools.run`, in the tools' own thread pool (agent.executor.tool_pool),
so the chat's event loop keeps streaming and a slow platform never takes the threads the chat store reads with.
A call whose tool the admin's roles do not allow answers tool_not_allowed (chat gives the agent only the allowed
ones; this holds for a run resumed after a role change too). A tool with confirm = true gets needs_approval=True: the SDK interrupts the run and calls the tool only
after RunState.approve(); that is why the call itself passes approved=True. A ToolError becomes text for the model
("Error (tool_failed): ..."), so the agent can tell the admin what went wrong instead of the run failing.

When the run's context is a ChatKit AgentContext (the chat server's), each call shows in the widget as a workflow
task: "Running NAME…" while it runs, then "Ran NAME (N ms)" or "NAME failed" with the output. The workflow item is
saved in the thread, so the admin sees what ran after a reload and the model reads it in later turns.
"""

import asyncio
import contextvars
import logging
import time
from datetime import datetime

from agents import FunctionTool

from agent.executor import run_in_tool_pool
from core.errors import ApiError

log = logging.getLogger(__name__)
SHOWN_OUTPUT_CHARS = 600  # what the widget's task shows of an output; the model gets all of it

# Set to a dict by a caller that wants to know how its run's calls went (chat's Approve): call_id -> (ms, error_code).
CALL_OUTCOMES = contextvars.ContextVar("CALL_OUTCOMES", default=None)


def sdk_function_tools(tools, record=None, admit=None):
    return [_function_tool(tools, spec, record, admit) for spec in tools.function_tools()]


def _function_tool(tools, spec, record, admit):
    name = spec["name"]

    async def invoke(run_context, arguments_json):
        agent_context = getattr(run_context, "context", None)
        call_id = getattr(run_context, "tool_call_id", None)
        task = await _show_running(agent_context, name)
        started = time.perf_counter()
        try:
            roles = await run_in_tool_pool(admit, run_context, name) if admit is not None else None
            # Approval is the SDK's job here: with needs_approval it invokes only approved calls.
            result = await run_in_tool_pool(tools.run, name, arguments_json, approved=True, roles=roles)
        except ApiError as error:
            _record(record, run_context, name, (time.perf_counter() - started) * 1000, call_id, error.code)
            await _show_done(agent_context, task, f"{name} failed ({error.code})", error.message)
            return f"Error ({error.code}): {error.message}"
        _record(record, run_context, name, result.ms, call_id, None)
        await _show_done(agent_context, task, f"Ran {name} ({result.ms:.0f} ms)", result.output)
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


def _record(record, run_context, name, ms, call_id, error_code):
    outcomes = CALL_OUTCOMES.get()
    if outcomes is not None and call_id:
        outcomes[call_id] = (ms, error_code)
    if record is None:
        return
    try:
        record(run_context, name, ms, call_id, error_code)
    except Exception:  # noqa: BLE001 - bookkeeping must not fail the admin's answer
        log.exception("could not record the tool call %s", name)


async def _show_running(agent_context, name):
    """Adds "Running NAME…" to the widget's workflow; returns the task's index, or None outside ChatKit.

    ChatKit serializes a queued event later, so an event must never hold an object that changes afterwards (it would
    show the finished task in place of "Running…"): the added item is a snapshot and _show_done copies on write."""
    if not hasattr(agent_context, "add_workflow_task"):
        return None
    from chatkit.types import CustomTask, ThreadItemAddedEvent, ThreadItemUpdatedEvent, WorkflowTaskAdded

    task = CustomTask(title=f"Running {name}…", status_indicator="loading", icon="bolt")
    item = agent_context.workflow_item
    if item is None:
        from chatkit.types import Workflow, WorkflowItem

        item = WorkflowItem(id=agent_context.generate_id("workflow"), created_at=datetime.now(),
                            workflow=Workflow(type="custom", tasks=[]), thread_id=agent_context.thread.id)
    item = _with_tasks(item, [*item.workflow.tasks, task])
    agent_context.workflow_item = item
    index = len(item.workflow.tasks) - 1
    if index == 0:
        await agent_context.stream(ThreadItemAddedEvent(item=item.model_copy(deep=True)))
    else:
        await agent_context.stream(ThreadItemUpdatedEvent(item_id=item.id, update=WorkflowTaskAdded(task=task,
                                                                                                  task_index=index)))
    await asyncio.sleep(0)  # let the stream take the event before the call starts
    return index


async def _show_done(agent_context, index, title, output):
    item = getattr(agent_context, "workflow_item", None)
    if index is None or item is None or index >= len(item.workflow.tasks):
        return
    from chatkit.types import CustomTask, ThreadItemUpdatedEvent, WorkflowTaskUpdated

    shown = output if len(output) <= SHOWN_OUTPUT_CHARS else output[:SHOWN_OUTPUT_CHARS] + "…"
    task = CustomTask(title=title, content=shown, status_indicator="complete", icon="bolt")
    tasks = list(item.workflow.tasks)
    tasks[index] = task
    agent_context.workflow_item = _with_tasks(item, tasks)
    await agent_context.stream(ThreadItemUpdatedEvent(item_id=item.id, update=WorkflowTaskUpdated(task=task,
                                                                                                task_index=index)))


def _with_tasks(item, tasks):
    """A copy of the workflow item with `tasks`: the item an earlier event holds stays as it was."""
    return item.model_copy(update={"workflow": item.workflow.model_copy(update={"tasks": tasks})})
