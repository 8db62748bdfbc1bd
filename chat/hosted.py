"""What hosted mode (an Agent Builder workflow) tells the admin, before and after Agent Builder's shutdown day."""

from core.openai_catalog import AGENT_BUILDER_SHUTDOWN

HOW_TO_MOVE = (
    "copy each admin's threads with `flask --app wsgi chatkit export-hosted ADMIN`, move the workflow's "
    "instructions and model to CHATKIT_INSTRUCTIONS and CHATKIT_MODEL (tools and handoffs to chat/agent.py), "
    "then set CHATKIT_MODE=self-hosted (docs/chat.md)"
)


def agent_builder_has_shut_down(today):
    """Whether Agent Builder has shut down on `today` (YYYY-MM-DD, from the app's clock)."""
    return today >= AGENT_BUILDER_SHUTDOWN


def hosted_mode_warning(today):
    """The one-line start-up warning for hosted mode on `today`, in words that say what to do."""
    if agent_builder_has_shut_down(today):
        return (f"CHATKIT_MODE=hosted: Agent Builder, which runs the ChatKit workflow, shut down on "
                f"{AGENT_BUILDER_SHUTDOWN}, so hosted chat no longer works; {HOW_TO_MOVE}")
    return (f"CHATKIT_MODE=hosted: Agent Builder, which runs the ChatKit workflow, shuts down on "
            f"{AGENT_BUILDER_SHUTDOWN}; before then {HOW_TO_MOVE}")
