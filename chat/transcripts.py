"""What a voice transcript line is, and how its id must look; light enough for the blueprint to import."""

import re
from dataclasses import dataclass

_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class TranscriptEntry:
    role: str  # "user" or "assistant"
    text: str
    entry_id: str | None = None  # e.g. the Realtime item id: posting the same entry twice updates it


def valid_entry_id(value):
    return isinstance(value, str) and bool(_ENTRY_ID.match(value))
