"""The activity record: who minted what and when, how each voice session went, and the success figures.

tables.py defines the tables; writer.py records mints (in batches, off the request); telemetry.py stores the voice
page's events; retention.py prunes; queries.py and chart.py read for the activity page, the status panel and
/metrics. Importing the package defines the tables on core.database.metadata, before init_database creates them.
"""

from activity.chart import daily_chart
from activity.queries import (
    active_voice_sessions,
    connection_figures,
    known_admins,
    last_mint,
    mint_page,
    summary,
    tool_call_page,
    voice_session_page,
)
from activity.retention import prune
from activity.tables import OUTCOMES, PAGE_SIZE, mints, tool_calls, voice_sessions
from activity.telemetry import parse_voice_event, record_voice_event
from activity.writer import flush_mints, record_mint, record_tool_call, recorded_mint

__all__ = [
    "OUTCOMES", "PAGE_SIZE", "active_voice_sessions", "connection_figures", "daily_chart", "flush_mints",
    "known_admins", "last_mint", "mint_page", "mints", "parse_voice_event", "prune", "record_mint",
    "record_tool_call", "record_voice_event", "recorded_mint", "summary", "tool_call_page", "tool_calls",
    "voice_session_page", "voice_sessions",
]
