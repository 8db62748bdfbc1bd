"""The Realtime voice agent: the OpenAI facts catalog, session config, minting and relaying, TURN credentials,
and the voice page's status panel."""
