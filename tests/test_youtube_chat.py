"""YouTube live chat (`--chat youtube`) through the Data API, against a local server
speaking its documented live chat reads (tests/fake_youtube_chat.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clipforge import errors
from clipforge.config import Settings
from clipforge.jobs import live_chat
from clipforge.sources.youtube_chat import video_id
from tests.fake_youtube_chat import KEY, VIDEO, FakeYouTubeChat

START = 1_700_000_000.0  # stream second 0, Unix seconds
SOURCE = f"https://www.youtube.com/watch?v={VIDEO}"


@pytest.fixture
def fake() -> Iterator[FakeYouTubeChat]:
    server = FakeYouTubeChat().start()
    yield server
    server.stop()


def settings_for(fake: FakeYouTubeChat, key: str = KEY) -> Settings:
    return Settings(youtube_api_url=fake.url, youtube_api_key=key,
                    youtube_chat_poll_seconds=0.05)


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_youtube_video_urls() -> None:
    for url in (SOURCE, f"https://youtu.be/{VIDEO}", f"https://www.youtube.com/live/{VIDEO}",
                f"https://m.youtube.com/watch?feature=share&v={VIDEO}"):
        assert video_id(url) == VIDEO, url
    assert video_id("https://example.com/live/index.m3u8") is None


def test_youtube_chat_feeds_the_live_scores_and_rides_out_errors(
        fake: FakeYouTubeChat, tmp_path: Path) -> None:
    """Messages are read page after page (each asking for the page the last one named),
    placed at their own time in the stream and recorded as they come; a server error and
    a rate limit are waited out; a chat that ends is said, and the feed ends quietly."""
    notices: list[str] = []
    feed = live_chat.feed("youtube", tmp_path, START, settings_for(fake), notices.append,
                          source=SOURCE)
    assert feed is not None and feed.recorder is not None
    try:
        for t in (10.2, 10.7, 11.1):
            fake.say(START + t, f"v{t}", "LUL what")
        wait_for(lambda: feed.signals(0, 30).rate[10:12].sum() == 3)
        fake.fail((503, "backendError"), (403, "rateLimitExceeded"))
        fake.say(START + 25.5, "bob", "Pog")
        wait_for(lambda: feed.signals(0, 30).rate[25] == 1)
        assert sum("trying again" in n for n in notices) == 2, notices
        shifted = feed.signals(10, 20)  # in the history's own time
        assert shifted.rate[0:2].sum() == 3 and shifted.rate[15] == 1
        def pages() -> list[str | None]:
            return [q.get("pageToken") for q in fake.requests("/youtube/v3/liveChat/messages")]

        wait_for(lambda: "4" in pages())  # the page after the fourth message
        assert pages()[0] is None and "3" in pages()
        assert len(fake.requests("/youtube/v3/videos")) == 1  # the chat's id, once
        fake.ended = True
        wait_for(lambda: not feed.recorder.running)  # type: ignore[union-attr]
        assert any("liveChatEnded" in n and "without chat" in n for n in notices), notices
    finally:
        feed.close()
    lines = [json.loads(line) for line in (tmp_path / "chat.jsonl").read_text().splitlines()]
    assert [(m["t"], m["user"], m["text"]) for m in lines] == [
        (10.2, "v10.2", "LUL what"), (10.7, "v10.7", "LUL what"), (11.1, "v11.1", "LUL what"),
        (25.5, "bob", "Pog")]


@pytest.mark.parametrize(("chat", "key", "said"), [
    ("youtube", "not-the-key", "keyInvalid"),
    ("youtube:AAAAAAAAAAA", KEY, "has no live chat now"),
])
def test_a_chat_that_cannot_be_read_is_said_and_the_stream_goes_on(
        fake: FakeYouTubeChat, tmp_path: Path, chat: str, key: str, said: str) -> None:
    notices: list[str] = []
    feed = live_chat.feed(chat, tmp_path, START, settings_for(fake, key), notices.append,
                          source=SOURCE)
    assert feed is not None and feed.recorder is not None
    try:
        wait_for(lambda: not feed.recorder.running)  # type: ignore[union-attr]
        assert any(said in n and "without chat" in n for n in notices), notices
        assert feed.signals(0, 30).rate.sum() == 0
    finally:
        feed.close()


def test_youtube_chat_needs_a_key_and_a_youtube_source(tmp_path: Path) -> None:
    with pytest.raises(errors.BadOption, match="CLIPFORGE_YOUTUBE_API_KEY"):
        live_chat.feed("youtube", tmp_path, START, Settings(youtube_api_key=""),
                       lambda _t: None, source=SOURCE)
    with pytest.raises(errors.BadOption, match="not a YouTube video URL"):
        live_chat.feed("youtube", tmp_path, START, Settings(youtube_api_key=KEY),
                       lambda _t: None, source="https://example.com/live/index.m3u8")
