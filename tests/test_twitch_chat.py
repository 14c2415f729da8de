"""A Twitch VOD's chat replay, fetched page by page from a local server that answers the
`VideoCommentsByOffsetOrCursor` persisted query the way Twitch's GraphQL endpoint does
(the request and answer layout TwitchDownloader and chat-downloader use), normalizes to
the same messages as the other chat formats, resumes from its cursor, and fails clearly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from clipforge import errors
from clipforge.config import Settings
from clipforge.domain import ChatMessage, MediaInfo, Options
from clipforge.jobs import ingest as ingest_job
from clipforge.jobs.context import Run
from clipforge.sources import chat, twitch_chat
from tests.test_chat_formats import DATA, EXPECTED

VIDEO = "2000000000"
PAGE = 2  # comments a page


def gql_nodes() -> list[dict[str, Any]]:
    """The comments of the TwitchDownloader fixture, as GraphQL comment nodes."""
    dump = json.loads((DATA / "twitchdownloader.json").read_text())
    nodes = []
    for c in dump["comments"]:
        fragments = [{"text": f["text"], "emote": {"emoteID": f["emoticon"]["emoticon_id"],
                                                    "from": 0} if f["emoticon"] else None}
                     for f in c["message"]["fragments"]]
        nodes.append({"id": c["_id"], "createdAt": c["created_at"],
                      "contentOffsetSeconds": int(c["content_offset_seconds"])
                      if float(c["content_offset_seconds"]).is_integer()
                      else c["content_offset_seconds"],
                      "commenter": {"id": c["commenter"]["_id"], "login": c["commenter"]["name"],
                                    "displayName": c["commenter"]["display_name"]},
                      "message": {"fragments": fragments, "userBadges": [],
                                  "userColor": c["message"]["user_color"]}})
    # A comment from a deleted account has no commenter: it is skipped.
    nodes.insert(1, {"id": "gone", "contentOffsetSeconds": 2, "commenter": None,
                     "message": {"fragments": [{"text": "bye", "emote": None}]}})
    return nodes


class FakeTwitch:
    """Pages of comments keyed by cursor; records every request; can fail on purpose."""

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self.nodes = nodes
        self.requests: list[dict[str, Any]] = []
        self.fail_from: int | None = None  # answer 500 to this request number and later
        self.once: list[int] = []  # statuses to answer once each, first
        self.answer: Any = None  # a fixed answer instead of the comments
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> twitch_chat.Endpoint:
        return twitch_chat.Endpoint(f"http://127.0.0.1:{self.httpd.server_address[1]}/gql",
                                    "test-client", backoff=0.01)

    def page(self, variables: dict[str, Any]) -> list[dict[str, Any]]:
        first = int(variables["cursor"].removeprefix("c")) if "cursor" in variables else 0
        edges = [{"cursor": f"c{i + 1}", "node": node}
                 for i, node in enumerate(self.nodes[first:first + PAGE], start=first)]
        more = first + PAGE < len(self.nodes)
        return [{"data": {"video": {"id": VIDEO, "creator": {"id": "1"}, "comments": {
            "edges": edges, "pageInfo": {"hasNextPage": more, "hasPreviousPage": first > 0}}}},
            "extensions": {"durationMilliseconds": 40, "operationName": twitch_chat.OPERATION}}]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"body": body, "client": self.headers.get("Client-ID")})
                if fake.once:
                    return self._send(fake.once.pop(0), {"error": "busy"})
                if fake.fail_from is not None and len(fake.requests) >= fake.fail_from:
                    return self._send(500, {"error": "down"})
                op = body[0]
                assert op["operationName"] == twitch_chat.OPERATION
                assert op["extensions"]["persistedQuery"]["sha256Hash"] == twitch_chat.QUERY_HASH
                if op["variables"]["videoID"] != VIDEO:
                    return self._send(200, [{"data": {"video": None}}])
                self._send(200, fake.answer or fake.page(op["variables"]))

            def _send(self, status: int, answer: Any) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def fake() -> Iterator[FakeTwitch]:
    server = FakeTwitch(gql_nodes())
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_the_chat_replay_reads_like_the_other_formats(fake: FakeTwitch, tmp_path: Path) -> None:
    seen: list[float] = []
    out = twitch_chat.download(VIDEO, tmp_path / "chat.jsonl", fake.endpoint, duration=10.0,
                               on_progress=seen.append)
    assert chat.detect_format(out.read_text()) == "jsonl"
    assert chat.read_chat(out) == EXPECTED
    first, *rest = [r["body"][0]["variables"] for r in fake.requests]
    assert first == {"videoID": VIDEO, "contentOffsetSeconds": 0}
    assert [v["cursor"] for v in rest] == ["c2"]  # 4 nodes, 2 a page
    assert {r["client"] for r in fake.requests} == {"test-client"}
    assert seen == sorted(seen) and seen[-1] == pytest.approx(0.7)
    # Done once: asked again, nothing is fetched.
    twitch_chat.download(VIDEO, out, fake.endpoint)
    assert len(fake.requests) == 2


def test_an_interrupted_download_goes_on_from_its_cursor(fake: FakeTwitch,
                                                         tmp_path: Path) -> None:
    fake.nodes = fake.nodes * 3  # 12 comments, 6 pages
    fake.fail_from = 3  # pages 1 and 2 arrive, then the server goes down
    out = tmp_path / "chat.jsonl"
    with pytest.raises(errors.ChatUnavailable, match="HTTP 500"):
        twitch_chat.download(VIDEO, out, fake.endpoint)
    assert not out.exists()
    fake.fail_from = None
    before = len(fake.requests)
    twitch_chat.download(VIDEO, out, fake.endpoint)
    cursors = [r["body"][0]["variables"].get("cursor") for r in fake.requests[before:]]
    assert cursors == ["c4", "c6", "c8", "c10"]  # from where it stopped, nothing twice
    assert chat.read_chat(out) == sorted(EXPECTED * 3, key=lambda m: m.t)


def test_passing_failures_are_retried(fake: FakeTwitch, tmp_path: Path) -> None:
    fake.once = [503, 429]
    out = twitch_chat.download(VIDEO, tmp_path / "chat.jsonl", fake.endpoint)
    assert chat.read_chat(out) == EXPECTED


@pytest.mark.parametrize(("answer", "said"), [
    ([{"errors": [{"message": "failed integrity check"}]}], "failed integrity check"),
    ([{"errors": [{"message": "PersistedQueryNotFound"}]}], "PersistedQueryNotFound"),
    ({"unexpected": True}, "shape we do not know"),
])
def test_refusals_say_how_to_get_the_chat_another_way(fake: FakeTwitch, tmp_path: Path,
                                                      answer: Any, said: str) -> None:
    fake.answer = answer
    with pytest.raises(errors.ChatUnavailable) as caught:
        twitch_chat.download(VIDEO, tmp_path / "chat.jsonl", fake.endpoint)
    message = caught.value.message
    assert said in message and VIDEO in message
    assert "TwitchDownloader" in message and "--chat FILE" in message


def test_a_missing_vod_and_an_unreachable_server(fake: FakeTwitch, tmp_path: Path) -> None:
    with pytest.raises(errors.ChatUnavailable, match="deleted, expired or subscriber-only"):
        twitch_chat.download("999", tmp_path / "a.jsonl", fake.endpoint)
    gone = twitch_chat.Endpoint("http://127.0.0.1:9/gql", "x", backoff=0.01)
    with pytest.raises(errors.ChatUnavailable, match="cannot reach Twitch"):
        twitch_chat.download(VIDEO, tmp_path / "b.jsonl", gone)


@pytest.mark.parametrize(("url", "vod"), [
    ("https://www.twitch.tv/videos/2000000000", "2000000000"),
    ("https://twitch.tv/somechannel/video/123", "123"),
    ("https://m.twitch.tv/videos/42?t=1h2m", "42"),
    ("https://www.twitch.tv/somechannel", None),
    ("https://www.youtube.com/watch?v=abc", None),
])
def test_twitch_vod_urls(url: str, vod: str | None) -> None:
    assert twitch_chat.video_id(url) == vod


def test_messages_carry_emote_names() -> None:
    node = gql_nodes()[2]
    assert twitch_chat._message(node) == ChatMessage(3.25, "bob", "KEKW that was insane",
                                                      ["KEKW"])


def test_ingest_fetches_a_twitch_vods_chat_and_goes_on_without_it_when_refused(
        fake: FakeTwitch, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, twitch_gql_url=fake.endpoint.url)
    run = Run(1, "k", MediaInfo("x.mp4", 10.0, True, True), Options(out_dir=tmp_path),
              settings, tmp_path / "work", source=f"https://www.twitch.tv/videos/{VIDEO}")
    found, problem = ingest_job.twitch_chat_replay(run, 10.0)
    assert problem is None and found is not None and chat.read_chat(found) == EXPECTED
    run.source = "https://www.twitch.tv/videos/999"  # Twitch has no such VOD
    run.work = tmp_path / "other"
    found, problem = ingest_job.twitch_chat_replay(run, 10.0)
    assert found is None and problem is not None and "--chat FILE" in problem
    run.source = "https://example.com/vod.mp4"  # not Twitch: nothing asked
    before = len(fake.requests)
    assert ingest_job.twitch_chat_replay(run, 10.0) == (None, None)
    assert len(fake.requests) == before
