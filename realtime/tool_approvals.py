"""One-time approvals for the tool calls the voice page relays: the server hands out an approval id bound to the
admin, the tool, the call_id, a hash of the arguments and an expiry, and runs the approved call once, for that id.

API (blueprints/realtime.py's tool-call route):

    run_relayed_call(tools, engine, admin_id, roles, call, now) -> ToolResult
        call: {"name", "arguments", "call_id", "approval_id" (or None)}; now: seconds since the epoch (the app's clock)
        approval_required (409)  a confirm tool without a valid approval id: the envelope carries a new one,
                                 {"approval": {"id": "apr_...", "expires_in_seconds": 600}}, and says why an id
                                 presented was refused (another call, other arguments, expired, not yours)
        approval_used (409)      this call_id ran with an approval already: a call runs once
        and every error of AgentTools.run

The approvals live in the database, so every worker and instance agrees on them. Before, the page's word
("approved": true) was enough: any call, any arguments, as often as it was sent.
"""

import hashlib
import json
import secrets

from sqlalchemy import Column, Float, String, Table, UniqueConstraint, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from agent.executor import ApprovalRequired
from core.database import metadata
from core.errors import ApiError

APPROVAL_TTL_SECONDS = 600  # the admin reads the call and decides; ten minutes is plenty, and a stale id dies
KEPT_SECONDS = 86400  # used and expired approvals are kept a day, so a replayed call_id is still known as run

approvals_table = Table(
    "voice_tool_approvals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("admin_id", String(64), nullable=False),  # core.admins.Admin.admin_id
    Column("call_id", String(200), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("arguments_sha256", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float),
    UniqueConstraint("admin_id", "call_id", name="uq_voice_approval_call"),
)


class ApprovalPending(ApprovalRequired):
    """approval_required with the approval id the page presents once the admin approves."""

    def __init__(self, message, approval_id):
        super().__init__(message)
        self.approval_id = approval_id

    def envelope(self):
        return {**super().envelope(), "approval": {"id": self.approval_id, "expires_in_seconds": APPROVAL_TTL_SECONDS}}


def arguments_hash(arguments_json):
    """sha256 of the arguments in one spelling (keys sorted, no spaces), so the same call hashes the same."""
    try:
        canonical = json.dumps(json.loads(arguments_json), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        canonical = arguments_json
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_relayed_call(tools, engine, admin_id, roles, call, now):
    refusal = None
    if call.get("approval_id"):
        refusal = redeem(engine, call["approval_id"], admin_id, call["name"], call["call_id"],
                         arguments_hash(call["arguments"]), now)
    try:
        return tools.run(call["name"], call["arguments"], approved=call.get("approval_id") is not None and refusal is None,
                         roles=roles)
    except ApprovalPending:
        raise
    except ApprovalRequired as error:
        approval_id = issue(engine, admin_id, call["name"], call["call_id"], arguments_hash(call["arguments"]), now)
        reason = f" The approval id sent was refused: {refusal}." if refusal else ""
        raise ApprovalPending(error.message + reason + " Present this approval id once the admin approves.",
                              approval_id) from None


def issue(engine, admin_id, tool, call_id, hashed, now):
    """A new approval id for this call of the admin (replacing an earlier unused one); approval_used when the call
    already ran with one."""
    approval_id = "apr_" + secrets.token_urlsafe(24)
    values = {"id": approval_id, "tool": tool, "arguments_sha256": hashed, "expires_at": now + APPROVAL_TTL_SECONDS}
    with engine.begin() as connection:
        connection.execute(delete(approvals_table).where(approvals_table.c.expires_at < now - KEPT_SECONDS))
        row = connection.execute(select(approvals_table.c.used_at).where(
            approvals_table.c.admin_id == admin_id, approvals_table.c.call_id == call_id)).first()
        if row is not None and row.used_at is not None:
            raise _used(call_id)
        if row is not None:
            connection.execute(update(approvals_table).where(
                approvals_table.c.admin_id == admin_id, approvals_table.c.call_id == call_id,
                approvals_table.c.used_at.is_(None)).values(**values))
            return approval_id
    try:
        with engine.begin() as connection:
            connection.execute(insert(approvals_table).values(admin_id=admin_id, call_id=call_id, **values))
    except IntegrityError:  # the same call asked twice at once (two tabs, another worker): the other one is used
        return issue(engine, admin_id, tool, call_id, hashed, now)
    return approval_id


def redeem(engine, approval_id, admin_id, tool, call_id, hashed, now):
    """Marks the approval used if it is this admin's, for this tool, call_id and arguments, unexpired and unused;
    returns None then, or why not (in words). Raises approval_used for an approval already spent on this call."""
    table = approvals_table
    with engine.begin() as connection:
        spent = connection.execute(update(table).where(
            table.c.id == approval_id, table.c.admin_id == admin_id, table.c.tool == tool, table.c.call_id == call_id,
            table.c.arguments_sha256 == hashed, table.c.used_at.is_(None), table.c.expires_at >= now,
        ).values(used_at=now)).rowcount
        if spent == 1:
            return None
        row = connection.execute(select(table).where(table.c.id == approval_id)).first()
    if row is None or row.admin_id != admin_id:
        return "it is not one this server gave you"
    if row.used_at is not None and row.call_id == call_id:
        raise _used(call_id)
    if row.used_at is not None:
        return "it was used already, for another call"
    if (row.tool, row.call_id) != (tool, call_id):
        return "it was given for another call"
    if row.arguments_sha256 != hashed:
        return "it was given for other arguments"
    return f"it expired ({APPROVAL_TTL_SECONDS // 60} minutes after it was given)"


def _used(call_id):
    return ApiError(409, "approval_used", f"The call {call_id} was approved and has run already: an approved call runs "
                    "once. If it should run again, the model has to make a new call.")
