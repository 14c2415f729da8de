"""Download a Twitch VOD's chat replay into our JSON Lines chat format.

Twitch serves VOD chat only through the GraphQL endpoint its own web player uses
(`VideoCommentsByOffsetOrCursor`, a persisted query, read page by page with a cursor);
there is no documented API for it, so this is what chat-downloader and TwitchDownloader
do too. It can change without notice: every failure becomes `ChatUnavailable`, whose
message says how to get the chat another way (TwitchDownloader, then `--chat FILE`).

The download resumes: each page's messages are appended to `OUT.part` and the cursor to
continue from is saved with the number of lines written, so a restart truncates what
followed the last saved page and goes on from its cursor.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from clipforge import errors
from clipforge.domain import ChatMessage

OPERATION = "VideoCommentsByOffsetOrCursor"
QUERY_HASH = "b70a3591ff0f4e0313d126c6a1502d79a1c02baebb288227c582044aa76adf6a"
VIDEO_URL = re.compile(r"^https?://(?:www\.|m\.)?twitch\.tv/(?:[^/]+/)?videos?/(\d+)")
RETRIES = 4
HELP = ("download the chat with TwitchDownloader (chat download, JSON) and give it with "
        "--chat FILE")


@dataclass(frozen=True)
class Endpoint:
    url: str = "https://gql.twitch.tv/gql"
    client_id: str = "kimne78kx3ncx6brgo4mv6wki5h1ko"  # Twitch's public web client
    backoff: float = 0.5  # seconds before the first retry, doubled for each next one


def video_id(url: str) -> str | None:
    """The numeric id of a Twitch VOD or highlight URL; None for anything else."""
    match = VIDEO_URL.match(url)
    return match[1] if match else None


def download(video: str, out: Path, endpoint: Endpoint, duration: float = 0.0,
             on_progress: Callable[[float], None] | None = None,
             client: httpx.Client | None = None) -> Path:
    """Fetch every chat message of Twitch VOD VIDEO to OUT (JSON Lines); resumes."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    part, state_path = out.with_name(out.name + ".part"), out.with_name(out.name + ".state")
    state = _resume(part, state_path)
    with contextlib.ExitStack() as stack:
        http = client or stack.enter_context(httpx.Client(timeout=30.0))
        sink = stack.enter_context(part.open("a", encoding="utf-8"))
        for messages, cursor in _pages(http, endpoint, video, state.get("cursor")):
            sink.writelines(json.dumps(asdict(m)) + "\n" for m in messages)
            sink.flush()
            _save(state_path, {"cursor": cursor, "bytes": sink.tell()})
            if on_progress is not None and duration > 0 and messages:
                on_progress(min(1.0, messages[-1].t / duration))
    part.replace(out)
    state_path.unlink(missing_ok=True)
    return out


def _resume(part: Path, state_path: Path) -> dict[str, Any]:
    """The saved cursor, with the file cut back to what was written up to it."""
    if not state_path.exists() or not part.exists():
        part.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        return {}
    state = json.loads(state_path.read_text())
    with part.open("r+b") as f:
        f.truncate(int(state["bytes"]))
    return dict(state)


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


def _pages(http: httpx.Client, endpoint: Endpoint, video: str, cursor: str | None
           ) -> Iterator[tuple[list[ChatMessage], str | None]]:
    while True:
        comments = _page(http, endpoint, video, cursor)
        edges = comments.get("edges") or []
        cursor = edges[-1].get("cursor") if edges else cursor
        yield [m for edge in edges if (m := _message(edge.get("node") or {}))], cursor
        if not (comments.get("pageInfo") or {}).get("hasNextPage") or not edges:
            return


def _page(http: httpx.Client, endpoint: Endpoint, video: str, cursor: str | None
          ) -> dict[str, Any]:
    variables: dict[str, Any] = {"videoID": video}
    if cursor:
        variables["cursor"] = cursor
    else:
        variables["contentOffsetSeconds"] = 0
    body = [{"operationName": OPERATION, "variables": variables,
             "extensions": {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}}]
    answer = _post(http, endpoint, video, body)
    try:
        first = answer[0] if isinstance(answer, list) else answer
        if first.get("errors"):
            said = "; ".join(str(e.get("message")) for e in first["errors"])
            raise _unavailable(video, f"Twitch refused the chat request: {said}")
        if "data" not in first:
            raise KeyError("data")
        found = (first["data"] or {}).get("video")
        if found is None:
            raise _unavailable(video, "Twitch has no such VOD (deleted, expired or "
                                      "subscriber-only)")
        return dict(found.get("comments") or {})
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        raise _unavailable(video, f"Twitch answered in a shape we do not know ({exc})") \
            from exc


def _post(http: httpx.Client, endpoint: Endpoint, video: str, body: Any) -> Any:
    """POST with retries on what passes (5xx, 429, a cut connection)."""
    for attempt in range(RETRIES + 1):
        try:
            response = http.post(endpoint.url, json=body,
                                 headers={"Client-ID": endpoint.client_id})
        except httpx.TransportError as exc:
            if attempt == RETRIES:
                raise _unavailable(video, f"cannot reach Twitch ({exc})") from exc
        else:
            if response.status_code < 400:
                return response.json()
            if response.status_code != 429 and response.status_code < 500 \
                    or attempt == RETRIES:
                raise _unavailable(video, f"Twitch answered HTTP {response.status_code}")
        time.sleep(min(8.0, endpoint.backoff * 2 ** attempt))
    raise AssertionError("unreachable")


def _message(node: dict[str, Any]) -> ChatMessage | None:
    commenter = node.get("commenter")
    if not commenter:  # a deleted account
        return None
    fragments = (node.get("message") or {}).get("fragments") or []
    text = "".join(str(f.get("text") or "") for f in fragments)
    emotes = [str(f["text"]).strip() for f in fragments if f.get("emote") and f.get("text")]
    user = str(commenter.get("displayName") or commenter.get("login") or "").strip()
    return ChatMessage(float(node.get("contentOffsetSeconds") or 0.0), user, text, emotes)


def _unavailable(video: str, what: str) -> errors.ChatUnavailable:
    return errors.ChatUnavailable(
        f"Twitch VOD {video}: its chat replay could not be fetched ({what}); the stream is "
        f"processed without chat. To use its chat, {HELP}")
