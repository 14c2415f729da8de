"""A YouTube live stream's chat, as it comes, through the YouTube Data API v3.

The documented way in: `videos.list` (part `liveStreamingDetails`) gives a live video's
`activeLiveChatId`, and `liveChatMessages.list` pages through that chat: the first page
holds some recent history, each answer names the page to ask for next
(`nextPageToken`) and how long to wait before asking (`pollingIntervalMillis`), and says
when the stream went offline (`offlineAt`). Each message carries its own time
(`snippet.publishedAt`), so how often we poll changes when a message is seen, not where
it lands in the stream.

Why not yt-dlp's `live_chat` download: it reads YouTube's web player endpoints, which are
not documented and are fixed to www.youtube.com; this one is documented, its base URL is
a setting (`youtube_api_url`, as for publishing), and it needs only an API key
(`youtube_api_key`). Its cost is quota: each poll costs 5 units of the project's daily
10,000, so polls are at least `youtube_chat_poll_seconds` apart (10 s: 1,800 units an
hour).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from clipforge import errors
from clipforge.domain import ChatMessage

log = logging.getLogger(__name__)
Notice = Callable[[str], None]
VIDEO_URL = re.compile(r"^https?://(?:www\.|m\.)?(?:youtube\.com/(?:watch\?(?:.*&)?v=|live/)"
                       r"|youtu\.be/)([A-Za-z0-9_-]{11})")
MAX_WAIT = 60.0  # s between attempts once the API keeps failing
ENDED = {"liveChatEnded", "liveChatNotFound", "liveChatDisabled"}


def video_id(url: str) -> str | None:
    """The id of a YouTube watch, live or youtu.be URL; None for anything else."""
    match = VIDEO_URL.match(url)
    return match[1] if match else None


class YouTubeLiveChat:
    """One live video's chat, followed until `stop()` or the stream's end: iterate
    `messages()` in one thread (ChatRecorder's); `stop()` works from any thread."""

    def __init__(self, video: str, start: float, api_url: str, api_key: str,
                 poll: float = 10.0, on_notice: Notice | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not api_key:
            raise errors.BadOption("--chat youtube needs a YouTube Data API key: set "
                                   "CLIPFORGE_YOUTUBE_API_KEY")
        self.channel = video  # the recorder's thread is named after it
        self.start = start  # Unix seconds that chat time 0 stands for
        self.api_url, self.api_key, self.poll = api_url.rstrip("/"), api_key, poll
        self.on_notice = on_notice or (lambda _text: None)
        self.client = httpx.Client(timeout=20.0, transport=transport)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def messages(self) -> Iterator[ChatMessage]:
        chat_id, token, failures = None, None, 0
        try:
            while not self._stop.is_set():
                try:
                    chat_id = chat_id or self._chat_id()
                    page = self._get("liveChat/messages", liveChatId=chat_id,
                                     part="snippet,authorDetails", maxResults="2000",
                                     **({"pageToken": token} if token else {}))
                except errors.ChatUnavailable as exc:  # the stream goes on without it
                    self.on_notice(f"{exc.message}; following on without chat")
                    return
                except _Retry as exc:
                    failures += 1
                    wait = min(MAX_WAIT, self.poll * 2 ** (failures - 1))
                    self.on_notice(f"YouTube chat: {exc}; trying again in {wait:.0f} s")
                    self._stop.wait(wait)
                    continue
                failures = 0
                yield from (m for m in map(self._message, page.get("items", [])) if m)
                if page.get("offlineAt"):
                    self.on_notice("YouTube chat: the stream went offline")
                    return
                token = page.get("nextPageToken") or token
                asked = float(page.get("pollingIntervalMillis") or 0) / 1000
                self._stop.wait(max(self.poll, asked))
        finally:
            self.client.close()

    def _chat_id(self) -> str:
        found = self._get("videos", part="liveStreamingDetails", id=self.channel)
        for item in found.get("items", []):
            chat = (item.get("liveStreamingDetails") or {}).get("activeLiveChatId")
            if chat:
                return str(chat)
        raise errors.ChatUnavailable(f"YouTube video {self.channel} has no live chat now "
                                     "(not live, or chat is off); give a chat file instead")

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        try:
            answer = self.client.get(f"{self.api_url}/{path}",
                                     params={**params, "key": self.api_key})
        except httpx.HTTPError as exc:
            raise _Retry(f"cannot reach the YouTube API ({exc})") from exc
        if answer.status_code == 200:
            body = answer.json()
            return body if isinstance(body, dict) else {}
        reason = _reason(answer)
        if answer.status_code in (429, 500, 502, 503, 504) or reason == "rateLimitExceeded":
            raise _Retry(f"the YouTube API answered HTTP {answer.status_code} ({reason})")
        if reason in ENDED:
            raise errors.ChatUnavailable(f"YouTube chat of {self.channel}: {reason}")
        raise errors.ChatUnavailable(
            f"YouTube chat of {self.channel}: the API answered HTTP {answer.status_code} "
            f"({reason}); check CLIPFORGE_YOUTUBE_API_KEY and its quota")

    def _message(self, item: dict[str, Any]) -> ChatMessage | None:
        snippet, author = item.get("snippet") or {}, item.get("authorDetails") or {}
        text = snippet.get("displayMessage") or \
            (snippet.get("textMessageDetails") or {}).get("messageText")
        when = snippet.get("publishedAt")
        if not text or not when:
            return None  # a membership, a deletion, a ban: nothing said
        try:
            t = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() - self.start
        except ValueError:
            log.debug("YouTube chat: a message with a bad time %r", when)
            return None
        return ChatMessage(t=round(t, 3), user=str(author.get("displayName") or "?"),
                           text=str(text))


class _Retry(Exception):
    """A failure worth waiting out: the network, a rate limit, a server error."""


def _reason(answer: httpx.Response) -> str:
    try:
        errors_ = answer.json()["error"]["errors"]
        return str(errors_[0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return f"HTTP {answer.status_code}"
