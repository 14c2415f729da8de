"""Chat: read a chat replay file into messages, whatever tool wrote it.

The format is told from the content, not the file name:

* ours, JSON Lines: `{"t": seconds from stream start, "user": str, "text": str}` a line
  (`"emotes": [names]` optional);
* yt-dlp `live_chat` (YouTube, `--sub-langs live_chat`): JSON Lines of
  `{"replayChatItemAction": {"actions": [...], "videoOffsetTimeMsec": "..."}}`;
* chat-downloader (`chat_downloader URL --output chat.json`): a JSON list of messages with
  `time_in_seconds`, `message`, `author.name` and `emotes[].name`;
* TwitchDownloader (chat download, JSON): `{"streamer", "video", "comments": [...]}` with
  `content_offset_seconds`, `commenter.display_name`, `message.body` and
  `message.fragments[].emoticon`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from clipforge import errors
from clipforge.domain import ChatMessage

HINT = ("give JSON Lines like {\"t\": 12.5, \"user\": \"name\", \"text\": \"hello\"}, a yt-dlp "
        ".live_chat.json, a chat-downloader JSON or a TwitchDownloader JSON file")


def read_chat(path: Path) -> list[ChatMessage]:
    if not path.is_file():
        raise errors.ChatFileError(f"{path}: chat file not found; check the --chat path")
    text = path.read_text(encoding="utf-8", errors="replace")
    messages = list(parse_chat(text, path))
    for number, message in enumerate(messages, start=1):
        if not math.isfinite(message.t):  # NaN sorts nowhere and has no second
            raise errors.ChatFileError(f"{path}: message {number} is at time {message.t}; "
                                       f"every time must be a number of seconds. {HINT}")
    messages.sort(key=lambda m: m.t)
    return messages


def check_times(messages: list[ChatMessage], duration: float, path: Path) -> None:
    """Chat of this stream: some message must fall inside its 0..duration seconds (a
    replay may start a little early or end late; those messages are left out)."""
    if messages and duration > 0 and not any(0.0 <= m.t <= duration for m in messages):
        raise errors.ChatFileError(
            f"{path}: no message falls inside the stream (0 to {duration:.1f} s; the chat "
            f"runs from {messages[0].t:.1f} to {messages[-1].t:.1f} s); give this stream's "
            "chat, with times in seconds from the stream's start")


def detect_format(text: str) -> str:
    head = text.lstrip()
    if head.startswith("["):
        return "chat-downloader"
    first = head.split("\n", 1)[0]
    if '"replayChatItemAction"' in first or '"addChatItemAction"' in first:
        return "yt-dlp live_chat"
    if head.startswith("{") and '"comments"' in head[:200_000]:
        try:
            whole = json.loads(head)
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict) and isinstance(whole.get("comments"), list):
            return "TwitchDownloader"
    return "jsonl"


def parse_chat(text: str, path: Path) -> Iterator[ChatMessage]:
    kind = detect_format(text)
    if kind == "chat-downloader":
        yield from _chat_downloader(_load(text, path), path)
    elif kind == "TwitchDownloader":
        yield from _twitch_downloader(_load(text, path), path)
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                parse = _live_chat_line if kind == "yt-dlp live_chat" else _jsonl_line
                yield from parse(line, path, number)


def _load(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.ChatFileError(f"{path}: not valid JSON (line {exc.lineno}); {HINT}"
                                   ) from exc


def _bad(path: Path, where: str, exc: Exception) -> errors.ChatFileError:
    # Never the offending value: the file's contents must not come back in an error.
    problem = f"no field {exc}" if isinstance(exc, KeyError) else type(exc).__name__
    return errors.ChatFileError(f"{path}: {where} is not a chat message ({problem}); {HINT}")


def _jsonl_line(line: str, path: Path, number: int) -> Iterator[ChatMessage]:
    try:
        raw = json.loads(line)
        yield ChatMessage(t=float(raw["t"]), user=str(raw.get("user", "")),
                          text=str(raw.get("text", "")),
                          emotes=[str(e) for e in raw.get("emotes") or []])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(path, f"line {number}", exc) from exc


# yt-dlp live_chat: each line is one replay action from YouTube's live chat continuation
# API; text messages are liveChatTextMessageRenderer, Super Chats liveChatPaidMessage-
# Renderer. Emoji runs carry `shortcuts` (":face-blue-smiling:") or, for channel emotes,
# a searchable name.
_RENDERERS = ("liveChatTextMessageRenderer", "liveChatPaidMessageRenderer")


def _live_chat_line(line: str, path: Path, number: int) -> Iterator[ChatMessage]:
    try:
        replay = json.loads(line)["replayChatItemAction"]
        t = int(replay.get("videoOffsetTimeMsec", 0)) / 1000.0
        for action in replay.get("actions", []):
            item = action.get("addChatItemAction", {}).get("item", {})
            for name in _RENDERERS:
                if name in item:
                    yield _live_chat_message(item[name], t)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(path, f"line {number}", exc) from exc


def _live_chat_message(renderer: dict[str, Any], t: float) -> ChatMessage:
    words: list[str] = []
    emotes: list[str] = []
    for run in renderer.get("message", {}).get("runs", []):
        if "text" in run:
            words.append(run["text"])
        elif "emoji" in run:
            emoji = run["emoji"]
            names = emoji.get("shortcuts") or emoji.get("searchTerms") or [
                emoji.get("emojiId", "")]
            name = str(names[0]).strip(":")  # ":KEKW:" is the emote KEKW
            emotes.append(name)
            words.append(name)
    user = renderer.get("authorName", {}).get("simpleText", "")
    return ChatMessage(t=t, user=str(user), text="".join(words), emotes=emotes)


def _chat_downloader(items: Any, path: Path) -> Iterator[ChatMessage]:
    if not isinstance(items, list):
        raise errors.ChatFileError(f"{path}: expected a list of messages; {HINT}")
    for index, item in enumerate(items):
        try:
            if item.get("message_type", "text_message") != "text_message" \
                    and item.get("message") is None:  # subscriptions, tickers, ...
                continue
            yield ChatMessage(
                t=float(item["time_in_seconds"]), user=str(item["author"]["name"]),
                text=str(item["message"]),
                emotes=placed_emotes(item.get("emotes") or []))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _bad(path, f"message {index + 1}", exc) from exc


def placed_emotes(emotes: list[dict[str, Any]]) -> list[str]:
    """chat-downloader lists an emote once with every place ("0-2", "4-6") it is used."""
    placed = [(int(str(where).split("-")[0]), str(e["name"]))
              for e in emotes for where in e.get("locations") or ["0"]]
    return [name for _, name in sorted(placed, key=lambda p: p[0])]


def _twitch_downloader(root: Any, path: Path) -> Iterator[ChatMessage]:
    for index, comment in enumerate(root["comments"]):
        try:
            message = comment["message"]
            emotes = [str(f["text"]) for f in message.get("fragments") or []
                      if f.get("emoticon")]
            yield ChatMessage(
                t=float(comment["content_offset_seconds"]),
                user=str(comment["commenter"]["display_name"]), text=str(message["body"]),
                emotes=emotes)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _bad(path, f"comment {index + 1}", exc) from exc


class LiveSource(Protocol):
    """A live chat followed as it comes (twitch_irc.LiveChat, youtube_chat.YouTubeLiveChat):
    `messages()` runs in one thread until `stop()`, which any thread may call."""

    channel: str

    def messages(self) -> Iterator[ChatMessage]: ...

    def stop(self) -> None: ...


class ChatRecorder:
    """Appends a live chat's messages to OUT as JSON Lines (`{"t", "user", "text",
    "emotes"}`, our chat format), each line flushed as it comes, from a thread of its
    own. Memory stays flat: nothing is kept but the open file."""

    def __init__(self, chat: LiveSource, out: Path) -> None:
        self.chat = chat
        self.out = out
        self.count = 0  # messages written so far
        self.error: BaseException | None = None  # what ended the thread, if not a stop
        self._thread = threading.Thread(target=self._run, name=f"chat-{chat.channel}",
                                        daemon=True)

    def start(self) -> ChatRecorder:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following and wait (up to TIMEOUT seconds) for the last line to be written."""
        self.chat.stop()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.out.open("a", encoding="utf-8") as sink:
                for message in self.chat.messages():
                    sink.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
                    sink.flush()
                    self.count += 1
        except BaseException as exc:  # kept for the caller, who owns the error path
            self.error = exc
