"""Twitch live chat, read as it happens over IRC on WebSocket.

Twitch's chat speaks IRC (RFC 1459 with IRCv3 message tags) over a WebSocket at
`wss://irc-ws.chat.twitch.tv:443`, one or more IRC lines a WebSocket text message. A
read-only client logs in anonymously: `CAP REQ :twitch.tv/tags twitch.tv/commands`, then
`PASS SCHMOOPIIE` (any password; the web player sends this one), `NICK justinfan12345`
(any `justinfan` + digits) and `JOIN #channel`. From then on:

* `PRIVMSG #channel :text` is a chat message; its tags carry `display-name`, `emotes`
  (`ID:FIRST-LAST,FIRST-LAST/ID:...`, character offsets into the text, both ends
  included) and `tmi-sent-ts` (when Twitch received it, Unix milliseconds);
* `PING :tmi.twitch.tv` must be answered with `PONG :tmi.twitch.tv`, or the server
  drops the connection;
* `RECONNECT` says the server is about to restart: connect again at once (no backoff).

A connection that fails or drops is opened again after an exponential backoff (doubled
each failed attempt, capped, with jitter so many clients do not come back together);
the backoff starts over once a connection is heard from again. `chat.ChatRecorder`
appends the messages to a JSON Lines file in our chat format, so the rest of the
pipeline reads live chat the way it reads a chat file.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from clipforge import errors
from clipforge.config import Settings
from clipforge.domain import ChatMessage
from clipforge.sources.chat import placed_emotes

__all__ = ["IrcEndpoint", "IrcLine", "LiveChat", "backoff_delay",
           "endpoint_from", "parse_line", "to_message"]

CHANNEL = re.compile(r"^[a-z0-9_]{1,25}$")  # a Twitch login name
POLL = 0.25  # seconds between looks at the stop flag while the server is silent
ACTION = ("\x01ACTION ", "\x01")  # `/me text` arrives as CTCP ACTION
Notice = Callable[[str], None]


@dataclass(frozen=True)
class IrcEndpoint:
    url: str = "wss://irc-ws.chat.twitch.tv:443"
    nick: str = "justinfan12345"  # anonymous, read-only
    password: str = "SCHMOOPIIE"  # any; empty: no PASS line
    backoff: float = 1.0  # seconds before the first retry after a failure
    max_backoff: float = 60.0  # the longest wait between attempts
    open_timeout: float = 10.0  # connect + WebSocket handshake


def endpoint_from(settings: Settings) -> IrcEndpoint:
    return IrcEndpoint(url=settings.twitch_irc_url)


@dataclass(frozen=True)
class IrcLine:
    command: str
    params: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    prefix: str = ""


_TAG_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def _unescape(value: str) -> str:
    """IRCv3 tag values escape `;`, space, `\\`, CR and LF; a lone trailing `\\` is dropped."""
    return re.sub(r"\\(.?)", lambda m: _TAG_ESCAPES.get(m[1], m[1]), value)


def parse_line(line: str) -> IrcLine:
    """One IRC line: `[@tags] [:prefix] COMMAND [params] [:trailing]`."""
    tags: dict[str, str] = {}
    prefix = ""
    rest = line.rstrip("\r\n")
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        for item in raw.split(";"):
            key, _, value = item.partition("=")
            tags[key] = _unescape(value)
    rest = rest.lstrip(" ")
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    head, sep, trailing = rest.partition(" :")
    words = head.split()
    params = words[1:] + ([trailing] if sep else [])
    return IrcLine(command=(words[0] if words else "").upper(), params=params, tags=tags,
                   prefix=prefix)


def to_message(line: IrcLine, start: float, now: float | None = None) -> ChatMessage | None:
    """A PRIVMSG as a ChatMessage, its time in seconds since START (Unix seconds): when
    Twitch received it (`tmi-sent-ts`), else NOW (when we did)."""
    if line.command != "PRIVMSG" or len(line.params) < 2:
        return None
    text = line.params[1]
    if text.startswith(ACTION[0]) and text.endswith(ACTION[1]):
        text = text[len(ACTION[0]):-1]  # emote offsets count from the action's text
    sent = line.tags.get("tmi-sent-ts", "")
    when = int(sent) / 1000.0 if sent.isdigit() else (time.time() if now is None else now)
    user = line.tags.get("display-name") or line.prefix.split("!")[0]
    return ChatMessage(t=round(when - start, 3), user=user, text=text,
                       emotes=_emote_names(line.tags.get("emotes", ""), text))


def _emote_names(tag: str, text: str) -> list[str]:
    """`25:0-4,12-16/1902:6-10` over TEXT: the emote names in message order. Offsets
    count characters (code points), so a message with emoji before an emote still
    names the right slice."""
    found = []
    for spec in filter(None, tag.split("/")):
        _, _, places = spec.partition(":")
        for where in filter(None, places.split(",")):
            first, _, last = where.partition("-")
            if first.isdigit() and last.isdigit() and int(last) < len(text):
                found.append({"name": text[int(first):int(last) + 1], "locations": [where]})
    return placed_emotes(found)


def backoff_delay(attempt: int, base: float, cap: float,
                  rand: Callable[[], float] = random.random) -> float:
    """The wait before retry ATTEMPT (0 first): base * 2**attempt, at most CAP, then
    scaled by a random factor in [0.5, 1) so clients cut off together spread out."""
    return min(cap, base * 2 ** min(attempt, 30)) * (0.5 + rand() / 2)


def channel_name(channel: str) -> str:
    name = channel.strip().removeprefix("#").lower()
    if not CHANNEL.match(name):
        raise errors.BadOption(
            f"twitch:{channel}: not a Twitch channel name; give the channel's login, "
            "letters, digits and _ (as in twitch.tv/NAME)")
    return name


class LiveChat:
    """One channel's chat, followed until `stop()`: iterate `messages()` (in one thread);
    `stop()` may be called from any thread and ends the iteration within about
    POLL seconds plus the WebSocket's closing handshake (at most a second)."""

    def __init__(self, channel: str, start: float, endpoint: IrcEndpoint,
                 on_notice: Notice | None = None) -> None:
        self.channel = channel_name(channel)
        self.start = start  # Unix seconds that chat time 0 stands for
        self.endpoint = endpoint
        self.on_notice = on_notice or (lambda _text: None)
        self.connections = 0  # opened so far (a reconnect opens another)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def messages(self) -> Iterator[ChatMessage]:
        failures = 0
        while not self._stop.is_set():
            heard = [False]  # set by the session once the server answers
            try:
                with self._open() as ws:
                    yield from self._session(ws, heard)
                failures = 0  # a RECONNECT or a stop: no wait
                continue
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                failures = 0 if heard[0] else failures
                delay = backoff_delay(failures, self.endpoint.backoff,
                                      self.endpoint.max_backoff)
                failures += 1
                self.on_notice(f"twitch chat #{self.channel}: connection lost "
                               f"({type(exc).__name__}); connecting again in {delay:.1f} s")
            self._stop.wait(delay)

    def _open(self) -> ClientConnection:
        try:
            ws = connect(self.endpoint.url, open_timeout=self.endpoint.open_timeout,
                         close_timeout=1.0, compression=None, proxy=None)
        except InvalidURI as exc:
            raise errors.BadOption(f"{self.endpoint.url}: not a WebSocket URL; set "
                                   "CLIPFORGE_TWITCH_IRC_URL to wss://HOST:PORT") from exc
        self.connections += 1
        return ws

    def _session(self, ws: ClientConnection, heard: list[bool]) -> Iterator[ChatMessage]:
        """Log in, join, then read until a RECONNECT, a stop or a dropped connection."""
        login = ["CAP REQ :twitch.tv/tags twitch.tv/commands"]
        login += [f"PASS {self.endpoint.password}"] if self.endpoint.password else []
        login += [f"NICK {self.endpoint.nick}", f"JOIN #{self.channel}"]
        for command in login:
            ws.send(command + "\r\n")
        while not self._stop.is_set():
            try:
                data = ws.recv(timeout=POLL)
            except TimeoutError:
                continue
            heard[0] = True
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            for raw in filter(None, text.split("\r\n")):
                line = parse_line(raw)
                if line.command == "PING":
                    ws.send(f"PONG :{line.params[-1] if line.params else 'tmi.twitch.tv'}\r\n")
                elif line.command == "RECONNECT":
                    self.on_notice(f"twitch chat #{self.channel}: the server asked to "
                                   "reconnect; connecting again")
                    return
                elif (message := to_message(line, self.start)) is not None:
                    yield message
