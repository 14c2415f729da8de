"""Chat replays in the formats people have parse to the same normalized messages.

The fixtures in tests/data/chat follow each tool's field layout: yt-dlp's `.live_chat.json`
(one `replayChatItemAction` a line, as YouTube's live chat replay API sends them),
chat-downloader's JSON output (a list of message dicts: `time_in_seconds`, `message`,
`author.name`, `emotes[].name`; here from a Twitch VOD), TwitchDownloader's chat JSON
(`comments[].content_offset_seconds`, `commenter.display_name`, `message.body`,
`message.fragments[].emoticon`), and ours (JSON Lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipforge import errors
from clipforge.domain import ChatMessage
from clipforge.sources import chat

DATA = Path(__file__).parent / "data" / "chat"
EXPECTED = [
    ChatMessage(1.5, "ann", "hello world", []),
    ChatMessage(3.25, "bob", "KEKW that was insane", ["KEKW"]),
    ChatMessage(7.0, "cy", "LUL LUL", ["LUL", "LUL"]),
]


@pytest.mark.parametrize(("name", "kind"), [
    ("ours.jsonl", "jsonl"),
    ("stream.live_chat.json", "yt-dlp live_chat"),
    ("chat_downloader.json", "chat-downloader"),
    ("twitchdownloader.json", "TwitchDownloader"),
])
def test_every_format_gives_the_same_messages(name: str, kind: str) -> None:
    path = DATA / name
    assert chat.detect_format(path.read_text()) == kind
    assert chat.read_chat(path) == EXPECTED


def test_old_chat_lines_without_emotes_still_read(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text('{"t": 2, "user": "a", "text": "hi"}\n')
    assert chat.read_chat(path) == [ChatMessage(2.0, "a", "hi")]


@pytest.mark.parametrize("text", ['[{"time_in_seconds": 1}]', '{"comments": [{"x": 1}]}',
                                  '{"replayChatItemAction": 5}'])
def test_broken_files_name_the_file_and_the_formats(tmp_path: Path, text: str) -> None:
    path = tmp_path / "chat.json"
    path.write_text(text + "\n")
    with pytest.raises(errors.ChatFileError) as caught:
        chat.read_chat(path)
    assert str(path) in caught.value.message and "TwitchDownloader" in caught.value.message
