"""A stream's chat as the jobs use it: its messages, its per-second signals, and the chat
lag to use when the stream is too short to estimate its own."""

from __future__ import annotations

from pathlib import Path

from clipforge.analysis import signals
from clipforge.domain import ChatMessage
from clipforge.jobs.context import Run
from clipforge.sources import chat as chat_files
from clipforge.storage import store

# Below these, a stream's own chat says too little about its lag: use the streamer's.
LAG_MIN_SECONDS = 120
LAG_MIN_MESSAGES = 30


def chat_messages(path: Path) -> list[ChatMessage]:
    return chat_files.read_chat(store.local(path))


def chat_signal(run: Run) -> signals.ChatSignals | None:
    if run.options.chat is None:
        return None
    emotes = frozenset(e.lower() for e in run.settings.emotes) or signals.DEFAULT_EMOTES
    return signals.chat_signals(chat_messages(run.options.chat), run.seconds, emotes)


def known_chat_lag(seconds: int, messages: int | None, stored: float | None) -> int | None:
    """The streamer's stored lag when this stream (SECONDS long, with MESSAGES chat
    messages, None without chat) is too short to estimate its own."""
    if messages is None or (seconds >= LAG_MIN_SECONDS and messages >= LAG_MIN_MESSAGES):
        return None
    return int(round(stored)) if stored is not None else None
