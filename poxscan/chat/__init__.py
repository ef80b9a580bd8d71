"""The mpox chatbot: retrieval over a hand-written knowledge base of CDC and WHO facts.

``MpoxChatbot().reply(text)`` returns a :class:`ChatReply` (``answer``, ``refusal`` for requests
for a diagnosis, or ``unknown``). Everything runs offline with scikit-learn.
"""

from poxscan.chat.bot import ChatReply, MpoxChatbot
from poxscan.chat.knowledge import KnowledgeBase, load_knowledge_base

__all__ = ["ChatReply", "KnowledgeBase", "MpoxChatbot", "load_knowledge_base"]
