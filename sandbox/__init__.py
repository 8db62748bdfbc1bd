"""A local stand-in for OpenAI's Realtime and ChatKit APIs: `python -m sandbox` (see sandbox/README.md)."""
