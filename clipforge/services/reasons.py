"""Each clip's score out of 100 and its reason in plain words (analysis/explain.py), with
how many people wrote in the stream's chat during it ("Chat exploded (86 viewers)")."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from clipforge import errors
from clipforge.analysis.explain import Explanation, explain, score_100
from clipforge.domain import ChatMessage
from clipforge.sources.chat import read_chat
from clipforge.storage import store
from clipforge.storage.models import ClipRow, StreamRow

__all__ = ["Explanation", "chatters", "explain", "explained"]


def explained(stream: StreamRow, clips: list[ClipRow]) -> dict[str, Explanation]:
    """Each clip's explanation, by clip id (a clip made by hand has no reasons: it says
    so, with the score where it sits)."""
    counts = chatters(stream, clips)
    return {c.id: explain(c.reasons, c.score, counts.get(c.id)) if c.reasons
            else Explanation(score_100(c.score), "Made by hand", None) for c in clips}


def chatters(stream: StreamRow, clips: Iterable[ClipRow]) -> dict[str, int]:
    """Distinct chatters per clip id, with the stream's chat lag applied (chat writes
    after what it reacts to); empty for a stream without chat (or whose chat file is
    gone)."""
    chat = (stream.options or {}).get("chat")
    if not chat:
        return {}
    messages = _messages(str(chat))
    lag = stream.chat_lag or 0.0
    return {clip.id: len({m.user for m in messages
                          if clip.start + lag <= m.t < clip.end + lag})
            for clip in clips}


def _messages(chat: str) -> tuple[ChatMessage, ...]:
    path = Path(chat)
    try:
        if not store.exists(path):
            return ()
        local = store.local(path)
        stat = local.stat()
        return _read(str(local), stat.st_mtime_ns, stat.st_size)
    except (OSError, errors.ClipForgeError):
        return ()


@lru_cache(maxsize=8)
def _read(path: str, _mtime: int, _size: int) -> tuple[ChatMessage, ...]:
    """A chat file read once per version of it: a stream page asks on every refresh."""
    return tuple(read_chat(Path(path)))
