"""Chat: read a chat replay file (JSON Lines) into messages.

One message a line: {"t": seconds from stream start, "user": str, "text": str}.
"""

from __future__ import annotations

import json
from pathlib import Path

from clipforge import errors
from clipforge.domain import ChatMessage


def read_chat(path: Path) -> list[ChatMessage]:
    if not path.is_file():
        raise errors.ChatFileError(f"{path}: chat file not found; check the --chat path")
    messages = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                messages.append(_parse(line, path, number))
    messages.sort(key=lambda m: m.t)
    return messages


def _parse(line: str, path: Path, number: int) -> ChatMessage:
    hint = 'each line must be JSON like {"t": 12.5, "user": "name", "text": "hello"}'
    try:
        raw = json.loads(line)
        return ChatMessage(t=float(raw["t"]), user=str(raw.get("user", "")),
                           text=str(raw.get("text", "")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise errors.ChatFileError(f"{path}: line {number} is not a chat message ({exc}); "
                                   f"{hint}") from exc
