"""Self-hosted ChatKit (CHATKIT_MODE=self-hosted): our own /chatkit endpoint built with openai-chatkit and the
OpenAI Agents SDK, its store in the project's database (tables.py, store.py), the server (server.py, agent.py), and
what hosted mode says (hosted.py). service.py is the one object the blueprint talks to; this file only re-exports it.

Importing the package defines the chat tables, before init_database creates them; nothing here imports the chat
libraries (they load on the first chat request or in a start-up thread).
"""

from chat.service import ChatAnswer, ChatService, chat_service, init_chat

__all__ = ["ChatAnswer", "ChatService", "chat_service", "init_chat"]
