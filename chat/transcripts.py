"""What a voice transcript line is, and how its id must look; light enough for the blueprint to import."""

from dataclasses import dataclass

# A transcript line's id (e.g. the Realtime item id) and a thread id: what the transcript request's schema allows.
ENTRY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


@dataclass(frozen=True)
class TranscriptEntry:
    role: str  # "user" or "assistant"
    text: str
    entry_id: str | None = None  # e.g. the Realtime item id: posting the same entry twice updates it
