"""Twitch live chat over IRC on WebSocket, against a local server that speaks Twitch's
IRC (tests/fake_twitch_irc.py) over real sockets: the login, tagged PRIVMSG into our chat
format, PING/PONG, RECONNECT, a cut connection ridden out with backoff, and a prompt stop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from clipforge import errors
from clipforge.config import Settings
from clipforge.domain import ChatMessage
from clipforge.sources import chat
from clipforge.sources.chat import ChatRecorder
from clipforge.sources.twitch_irc import (
    IrcEndpoint,
    LiveChat,
    backoff_delay,
    endpoint_from,
    parse_line,
    to_message,
)
from tests.fake_twitch_irc import FakeTwitchIrc

START = 1_700_000_000.0  # chat time 0, Unix seconds
USER = ":viewer!viewer@viewer.tmi.twitch.tv"


def privmsg(text: str, ts_ms: int, name: str = "Viewer", emotes: str = "") -> str:
    return (f"@badge-info=;badges=;color=#1E90FF;display-name={name};emotes={emotes};"
            f"id=x;tmi-sent-ts={ts_ms};user-type= {USER} PRIVMSG #somechannel :{text}")


@pytest.fixture
def server() -> Iterator[FakeTwitchIrc]:
    fake = FakeTwitchIrc().start()
    yield fake
    fake.stop()


def record(server: FakeTwitchIrc, out: Path, **endpoint: float) -> ChatRecorder:
    point = replace(endpoint_from(Settings(twitch_irc_url=server.url)), **endpoint)
    return ChatRecorder(LiveChat("SomeChannel", START, point), out).start()


@pytest.fixture
def recorders() -> Iterator[list[ChatRecorder]]:
    started: list[ChatRecorder] = []
    yield started
    for rec in started:
        rec.stop()


def lines_in(out: Path) -> list[ChatMessage]:
    return chat.read_chat(out) if out.exists() else []


def wait_messages(server: FakeTwitchIrc, out: Path, count: int) -> list[ChatMessage]:
    server.wait_for(lambda: len(lines_in(out)) >= count)
    return lines_in(out)


def test_login_is_anonymous_and_joins_the_channel(server, recorders, tmp_path) -> None:
    recorders.append(record(server, tmp_path / "chat.jsonl"))
    server.wait_for(lambda: server.joined() == [1])
    assert server.received(1)[:4] == ["CAP REQ :twitch.tv/tags twitch.tv/commands",
                                      "PASS SCHMOOPIIE", "NICK justinfan12345",
                                      "JOIN #somechannel"]


def test_tagged_messages_arrive_in_our_chat_format(server, recorders, tmp_path) -> None:
    out = tmp_path / "chat.jsonl"
    recorders.append(record(server, out))
    server.wait_for(lambda: server.joined() == [1])
    base = int(START * 1000)
    # Offsets count characters: the emoji before "Kappa" is one, as Twitch counts it.
    server.send(privmsg("Kappa hi Kappa", base + 1500, emotes="25:0-4,9-13"))
    server.send(privmsg("😂 Kappa ñandú PogChamp", base + 2250, name="Zoë\\sX",
                        emotes="88:14-21/25:2-6"))
    server.send(privmsg("\x01ACTION waves LUL\x01", base + 3000, emotes="425618:6-8"))
    got = wait_messages(server, out, 3)
    assert got == [
        ChatMessage(1.5, "Viewer", "Kappa hi Kappa", ["Kappa", "Kappa"]),
        ChatMessage(2.25, "Zoë X", "😂 Kappa ñandú PogChamp", ["Kappa", "PogChamp"]),
        ChatMessage(3.0, "Viewer", "waves LUL", ["LUL"]),
    ]


def test_ping_gets_pong(server, recorders, tmp_path) -> None:
    recorders.append(record(server, tmp_path / "chat.jsonl"))
    server.wait_for(lambda: server.joined() == [1])
    server.send("PING :tmi.twitch.tv")
    server.wait_for(lambda: "PONG :tmi.twitch.tv" in server.received(1))


def test_reconnect_opens_a_new_connection_at_once(server, recorders, tmp_path) -> None:
    out = tmp_path / "chat.jsonl"
    # A long backoff: the new connection must not wait for it.
    recorders.append(record(server, out, backoff=30.0, max_backoff=30.0))
    server.wait_for(lambda: server.joined() == [1])
    server.send(privmsg("before", int(START * 1000) + 1000))
    wait_messages(server, out, 1)
    asked = time.monotonic()
    server.reconnect()
    server.wait_for(lambda: 2 in server.joined(), timeout=5)
    assert time.monotonic() - asked < 3.0
    server.send(privmsg("after", int(START * 1000) + 2000))
    assert [m.text for m in wait_messages(server, out, 2)] == ["before", "after"]
    assert server.received(2)[-1] == "JOIN #somechannel"
    assert recorders[0].chat.connections == 2


def test_a_cut_connection_is_ridden_out_with_backoff(server, recorders, tmp_path) -> None:
    out = tmp_path / "chat.jsonl"
    recorders.append(record(server, out, backoff=0.2, max_backoff=2.0))
    server.wait_for(lambda: server.joined() == [1])
    server.refuse = 3  # the server is restarting: three attempts fail
    server.cut()
    server.wait_for(lambda: server.joined() == [2], timeout=15)  # refused ones never join
    server.send(privmsg("still here", int(START * 1000) + 5000))
    assert [m.text for m in wait_messages(server, out, 1)] == ["still here"]
    # Attempt 1 came right after the cut; then the waits double (each scaled by a jitter
    # in [0.5, 1)): at least 0.2, 0.4 and 0.8 s, at most 0.4, 0.8 and 1.6 s (plus slack).
    gaps = [b - a for a, b in zip(server.attempts[1:], server.attempts[2:], strict=False)]
    assert len(gaps) == 3, gaps
    assert all(0.2 * 2 ** i - 0.02 <= g <= 0.4 * 2 ** i + 0.3
               for i, g in enumerate(gaps)), gaps
    assert recorders[0].error is None and recorders[0].running


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    assert [backoff_delay(n, 1.0, 10.0, rand=lambda: 1.0) for n in range(6)] == \
        [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff_delay(3, 1.0, 10.0, rand=lambda: 0.0) == 4.0
    assert backoff_delay(500, 1.0, 10.0) <= 10.0


@pytest.mark.parametrize("refuse", [0, 1000], ids=["connected", "backing-off"])
def test_stop_ends_within_a_bound(server, tmp_path, refuse: int) -> None:
    server.refuse = refuse  # refused: the client waits 15-30 s before trying again
    rec = record(server, tmp_path / "chat.jsonl", backoff=30.0, max_backoff=60.0)
    server.wait_for(lambda: len(server.attempts) == 1 and (refuse or server.joined() == [1]))
    asked = time.monotonic()
    rec.stop(timeout=5)
    assert not rec.running and time.monotonic() - asked < 2.0
    assert rec.error is None


def test_irc_lines_and_bad_channels() -> None:
    line = parse_line("@a=b\\:c;d= :nick!u@h PRIVMSG #ch :hello :) there")
    assert (line.command, line.params, line.tags, line.prefix) == \
        ("PRIVMSG", ["#ch", "hello :) there"], {"a": "b;c", "d": ""}, "nick!u@h")
    # No tmi-sent-ts, no display-name: received time and the login name.
    plain = to_message(parse_line(":who!who@x PRIVMSG #ch :yo"), START, now=START + 7)
    assert plain == ChatMessage(7.0, "who", "yo", [])
    assert to_message(parse_line(":tmi.twitch.tv 001 justinfan12345 :hi"), START) is None
    with pytest.raises(errors.BadOption, match="not a Twitch channel name"):
        LiveChat("no spaces allowed", START, IrcEndpoint())
