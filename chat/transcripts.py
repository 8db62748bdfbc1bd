"""What a voice transcript line is, and how its id must look; light enough for the blueprint to import."""

import re
from dataclasses import dataclass

# A transcript line's id (e.g. the Realtime item id) and a thread id: what the transcript request's schema allows.
ENTRY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# Shown before every message that came from a voice session: in both chat views and in what the model reads.
VOICE_MARK = "[voice] "


def valid_entry_id(value):
    """Whether `value` looks like a thread or item id (the pattern the transcript request's schema uses)."""
    return isinstance(value, str) and re.fullmatch(ENTRY_ID_PATTERN, value) is not None


@dataclass(frozen=True)
class TranscriptEntry:
    role: str  # "user" or "assistant"
    text: str
    entry_id: str | None = None  # e.g. the Realtime item id: posting the same entry twice updates it
