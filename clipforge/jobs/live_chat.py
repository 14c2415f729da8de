"""A live stream's chat as its moments are scored: a chat file given in advance, or
Twitch or YouTube chat recorded as it comes (`twitch:CHANNEL`, sources/twitch_irc.py;
`youtube`, sources/youtube_chat.py) into
`OUT/live/chat.jsonl` and read back as it grows. Only the messages of the newest
seconds are kept; per-second chat signals are made for the history being scored (the
chat lag is estimated over it, as a VOD's is over the whole stream)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clipforge import errors
from clipforge.analysis import signals
from clipforge.config import Settings
from clipforge.domain import ChatMessage
from clipforge.sources import chat as chat_files
from clipforge.sources import twitch_irc, youtube_chat

KEEP = 400  # seconds of messages kept: the scored history and the chat's lag behind it


class ChatFeed:
    def __init__(self, path: Path, emotes: frozenset[str],
                 recorder: chat_files.ChatRecorder | None = None) -> None:
        self.path, self.emotes, self.recorder = path, emotes, recorder
        self.messages: list[ChatMessage] = []
        self.read_to = 0  # bytes of a growing file read so far
        if recorder is None:  # a file given in advance: all of it now
            self.messages = chat_files.read_chat(path)

    def signals(self, first: int, seconds: int) -> signals.ChatSignals:
        """Chat signals over stream seconds FIRST .. FIRST + SECONDS, in their time."""
        if self.recorder is not None:
            self._read_new()
            self.messages = [m for m in self.messages if m.t >= first + seconds - KEEP]
        shown = [ChatMessage(m.t - first, m.user, m.text, m.emotes) for m in self.messages
                 if first <= m.t < first + seconds]
        return signals.chat_signals(shown, seconds, self.emotes)

    def _read_new(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as source:
            source.seek(self.read_to)
            data = source.read()
        whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        self.read_to += len(whole)
        if whole:
            text = whole.decode("utf-8", "replace")
            self.messages.extend(chat_files.parse_chat(text, self.path))

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()


def is_live(spec: str) -> bool:
    """Whether a chat SPEC names a chat read as it comes (not a chat file)."""
    return spec == "youtube" or spec.startswith(("twitch:", "youtube:"))


def feed(spec: str | None, folder: Path, epoch: float, settings: Settings,
         notice: Callable[[str], None], source: str = "") -> ChatFeed | None:
    """The chat SPEC names: None, `twitch:CHANNEL`, `youtube` (the chat of SOURCE, a
    YouTube video), `youtube:VIDEO_ID`, or a chat file."""
    if spec is None:
        return None
    emotes = frozenset(e.lower() for e in settings.emotes) or signals.DEFAULT_EMOTES
    if not is_live(spec):
        return ChatFeed(Path(spec), emotes)
    out = folder / "chat.jsonl"
    return ChatFeed(out, emotes, chat_files.ChatRecorder(
        _live_source(spec, epoch, settings, notice, source), out).start())


def _live_source(spec: str, epoch: float, settings: Settings, notice: Callable[[str], None],
                 source: str) -> chat_files.LiveSource:
    name = spec.split(":", 1)[1] if ":" in spec else ""
    if spec.startswith("twitch:"):
        return twitch_irc.LiveChat(name, epoch, twitch_irc.endpoint_from(settings),
                                   on_notice=notice)
    video = name or youtube_chat.video_id(source)
    if not video:
        raise errors.BadOption(f"--chat youtube: {source} is not a YouTube video URL; "
                               "give youtube:VIDEO_ID")
    return youtube_chat.YouTubeLiveChat(
        video, epoch, settings.youtube_api_url, settings.youtube_api_key,
        settings.youtube_chat_poll_seconds, on_notice=notice)
