"""What a voice transcript line is, and how its id must look; light enough for the blueprint to import."""

import re
from dataclasses import dataclass

_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Shown before every message that came from a voice session: in both chat views and in what the model reads.
VOICE_MARK = "[voice] "


@dataclass(frozen=True)
class TranscriptEntry:
    role: str  # "user" or "assistant"
    text: str
    entry_id: str | None = None  # e.g. the Realtime item id: posting the same entry twice updates it


def valid_entry_id(value):
    return isinstance(value, str) and bool(_ENTRY_ID.match(value))
