"""The bad-input corpus: media, chat files, options, URLs, stored settings, API bodies and
WebSocket parameters a new user might try. Every case has a timeout and must end with
its exit code or HTTP status and a message naming the input, never a traceback (on
stderr or in the server's log) and never a hang. All media is generated here (ffmpeg
lavfi, espeak-ng), tiny, so the corpus runs in CI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.conftest import cli_env, clipforge_cmd, synth
from tests.plain_http import plain_http_server
from tests.procs import run_in_group
from tests.servers import Server, free_port

CASE_TIMEOUT = 120.0  # seconds a case may take before it counts as a hang

def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True,
                   timeout=120)


# A stream with one highlight: a quiet tone, loud noise at 12-15 s.
BURST_AUDIO = ("sine=frequency=300:duration=24,volume=0.05[t];anoisesrc=d=3:a=0.9,"
               "adelay=12000|12000[n];[t][n]amix=inputs=2:normalize=0")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpus")
    m = {name: root / name for name in (
        "burst.mp4", "tone.m4a", "no_audio.mp4", "half_second.m4a", "four_seconds.m4a",
        "quiet.m4a", "tiny_1x1.mp4", "text.mp4", "empty.mp4", "garbage.mkv", "image.png",
        "truncated.mp4", "a folder", "naïve clip ✓.mp4")}
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=24", "-filter_complex",
           BURST_AUDIO, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           "-t", "24", str(m["burst.mp4"]))
    ffmpeg("-filter_complex", BURST_AUDIO, "-c:a", "aac", "-t", "24", str(m["tone.m4a"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=3", "-c:v", "libx264",
           "-preset", "ultrafast", str(m["no_audio.mp4"]))
    ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac", str(m["half_second.m4a"]))
    synth.make_speech_file(m["four_seconds.m4a"], 4.0)
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=20,volume=0.02", "-c:a", "aac",
           str(m["quiet.m4a"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64:r=10:d=20", "-filter_complex",
           BURST_AUDIO.replace("24", "20"), "-vf", "scale=1:1", "-pix_fmt", "yuv444p",
           "-c:v", "libx264", "-c:a", "aac", "-t", "20", str(m["tiny_1x1.mp4"]))
    m["text.mp4"].write_text("this is a text file, not a video\n")
    m["empty.mp4"].write_bytes(b"")
    m["garbage.mkv"].write_bytes(bytes(range(256)) * 64)
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64:d=1", "-frames:v", "1", str(m["image.png"]))
    whole = m["burst.mp4"].read_bytes()
    m["truncated.mp4"].write_bytes(whole[: len(whole) * 3 // 10])  # moov atom at the end
    m["a folder"].mkdir()
    chats = {
        "chat_nan.jsonl": '{"t": NaN, "user": "a", "text": "hi"}\n',
        "chat_infinity.jsonl": '{"t": 3.0, "user": "a", "text": "hi"}\n'
                               '{"t": Infinity, "user": "b", "text": "yo"}\n',
        "chat_word_time.jsonl": '{"t": "soon", "user": "a", "text": "hi"}\n',
        "chat_broken_line.jsonl": '{"t": 1.0, "user": "a", "text": "hi"}\n{"t": 2.0, "us\n',
        "chat_after_the_end.jsonl": '{"t": 5000.0, "user": "a", "text": "late"}\n',
        "chat_before_the_start.jsonl": '{"t": -900.0, "user": "a", "text": "early"}\n',
        "chat_list_of_numbers.json": "[1, 2, 3]",
        "chat_twitch_without_fields.json": '{"streamer": {}, "comments": [{"x": 1}]}',
        "chat_no_t.jsonl": '{"user": "a", "text": "hi"}\n',
    }
    for name, text in chats.items():
        m[name] = root / name
        m[name].write_text(text)
    m["chat_binary.jsonl"] = root / "chat_binary.jsonl"
    m["chat_binary.jsonl"].write_bytes(bytes(range(256)))
    return m


# --- the command line ------------------------------------------------------------------

@dataclass(frozen=True)
class CliCase:
    args: Callable[[dict[str, Path], Path], list[str]]  # (media, tmp_path) -> arguments
    code: int
    needles: tuple[str, ...]  # in stderr (or stdout, for code 0)
    usage: bool = False  # a usage error: typer's box, not our one line


def proc_(m: dict[str, Path], *extra: str, source: str = "tone.m4a") -> list[str]:
    return ["process", str(m[source]), "-q", *extra]


CLI_CASES: dict[str, CliCase] = {
    # media
    "missing file": CliCase(lambda m, t: ["process", str(t / "nope.mp4")], 2,
                            ("nope.mp4", "no such file")),
    "unicode path, missing": CliCase(lambda m, t: ["process", str(t / "naïve ✓ clip.mp4")], 2,
                                     ("naïve ✓ clip.mp4", "no such file")),
    "text file named .mp4": CliCase(lambda m, t: proc_(m, source="text.mp4"), 2,
                                    ("text.mp4", "not a video or audio file")),
    "empty file": CliCase(lambda m, t: proc_(m, source="empty.mp4"), 2,
                          ("empty.mp4", "empty")),
    "random bytes": CliCase(lambda m, t: proc_(m, source="garbage.mkv"), 2,
                            ("garbage.mkv", "not a video or audio file")),
    "a folder": CliCase(lambda m, t: proc_(m, source="a folder"), 2,
                        ("a folder", "is a folder")),
    "video without audio": CliCase(lambda m, t: proc_(m, source="no_audio.mp4"), 2,
                                   ("no_audio.mp4", "no audio stream")),
    "a still image": CliCase(lambda m, t: proc_(m, source="image.png"), 2, ("image.png",)),
    "truncated mp4": CliCase(lambda m, t: proc_(m, source="truncated.mp4"), 2,
                             ("truncated.mp4", "truncated or corrupt")),
    "half a second": CliCase(lambda m, t: proc_(m, source="half_second.m4a"), 2,
                             ("half_second.m4a", "lasts 0.50 s")),
    "a 1x1 video is audio only": CliCase(
        lambda m, t: proc_(m, "--no-render", "--json", "--min-len", "5", "--max-len", "10",
                           source="tiny_1x1.mp4"), 0, ('"clips"',)),
    # chat files
    "chat file missing": CliCase(lambda m, t: proc_(m, "--chat", str(t / "chat.jsonl")), 2,
                                 ("chat.jsonl", "not found")),
    "chat time NaN": CliCase(lambda m, t: proc_(m, "--chat", str(m["chat_nan.jsonl"])), 2,
                             ("chat_nan.jsonl", "message 1", "nan")),
    "chat time Infinity": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_infinity.jsonl"])), 2,
        ("chat_infinity.jsonl", "message 2", "inf")),
    "chat time a word": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_word_time.jsonl"])), 2,
        ("chat_word_time.jsonl", "line 1")),
    "chat without t": CliCase(lambda m, t: proc_(m, "--chat", str(m["chat_no_t.jsonl"])), 2,
                              ("chat_no_t.jsonl", "line 1")),
    "chat line cut off": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_broken_line.jsonl"])), 2,
        ("chat_broken_line.jsonl", "line 2")),
    "chat after the stream": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_after_the_end.jsonl"])), 2,
        ("chat_after_the_end.jsonl", "no message falls inside the stream")),
    "chat before the stream": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_before_the_start.jsonl"])), 2,
        ("chat_before_the_start.jsonl", "no message falls inside the stream")),
    "chat list of numbers": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_list_of_numbers.json"])), 2,
        ("chat_list_of_numbers.json", "message 1")),
    "chat TwitchDownloader without fields": CliCase(
        lambda m, t: proc_(m, "--chat", str(m["chat_twitch_without_fields.json"])), 2,
        ("chat_twitch_without_fields.json", "comment 1")),
    "chat binary": CliCase(lambda m, t: proc_(m, "--chat", str(m["chat_binary.jsonl"])), 2,
                           ("chat_binary.jsonl",)),
    # options
    "--top 0": CliCase(lambda m, t: proc_(m, "--top", "0"), 2, ("--top", "0")),
    "--top -3": CliCase(lambda m, t: proc_(m, "--top", "-3"), 2, ("--top", "-3")),
    "--top abc": CliCase(lambda m, t: proc_(m, "--top", "abc"), 2, ("--top",), usage=True),
    "--min-len 0": CliCase(lambda m, t: proc_(m, "--min-len", "0"), 2, ("--min-len",)),
    "--min-len nan": CliCase(lambda m, t: proc_(m, "--min-len", "nan"), 2, ("--min-len",)),
    "--max-len inf": CliCase(lambda m, t: proc_(m, "--max-len", "inf"), 2, ("--max-len",)),
    "--min-len over --max-len": CliCase(
        lambda m, t: proc_(m, "--min-len", "50", "--max-len", "20"), 2, ("--min-len",)),
    "--layout wide": CliCase(lambda m, t: proc_(m, "--layout", "wide"), 2,
                             ("--layout", "wide")),
    "--caption-style fancy": CliCase(lambda m, t: proc_(m, "--caption-style", "fancy"), 2,
                                     ("--caption-style", "fancy")),
    "--out is a file": CliCase(lambda m, t: proc_(m, "--out", str(m["tone.m4a"])), 2,
                               ("--out", "tone.m4a", "is a file")),
    "--out read-only": CliCase(lambda m, t: proc_(m, "--out", "/proc/1/clipforge-out"), 2,
                               ("--out", "/proc/1/clipforge-out", "cannot write there")),
    "unknown option": CliCase(lambda m, t: proc_(m, "--colour", "red"), 2, ("--colour",),
                              usage=True),
    "unknown command": CliCase(lambda m, t: ["proces", "x.mp4"], 2, ("proces",), usage=True),
    "feedback maybe": CliCase(lambda m, t: ["feedback", "maybe", "abc"], 2,
                              ("maybe", "approve or reject")),
    "feedback on no clip": CliCase(lambda m, t: ["feedback", "approve", "deadbeef"], 2,
                                   ("deadbeef", "report.json")),
    "publish no clip": CliCase(lambda m, t: ["publish", "deadbeef", "--to", "youtube"], 2,
                               ("deadbeef",)),
    "streamer facecam out of frame": CliCase(
        lambda m, t: ["streamer", "add", "ann", "--facecam", "2,2,2,2"], 2, ("facecam",)),
    "streamer caption style": CliCase(
        lambda m, t: ["streamer", "add", "ann", "--caption-style", "huge"], 2,
        ("caption_style", "huge")),
    "streamer face not an image": CliCase(
        lambda m, t: ["streamer", "add", "ann", "--face", str(m["text.mp4"])], 2,
        ("text.mp4", "not an image")),
    "token for no user": CliCase(lambda m, t: ["token", "create", "nobody"], 2,
                                 ("nobody", "no such user")),
    # URLs
    "ftp URL": CliCase(lambda m, t: ["process", "ftp://example.com/vod.mp4"], 2,
                       ("ftp://example.com/vod.mp4", "only http:// and https://")),
    "private address": CliCase(lambda m, t: ["process", "http://10.1.2.3/vod.mp4"], 2,
                               ("http://10.1.2.3/vod.mp4", "private")),
    "URL without a host": CliCase(lambda m, t: ["process", "https:///vod.mp4"], 2,
                                  ("https:///vod.mp4",)),
}


def check_cli(proc: subprocess.CompletedProcess[str], case: CliCase) -> None:
    assert proc.returncode == case.code, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    text = proc.stdout if case.code == 0 else proc.stderr
    for needle in case.needles:
        assert needle in text, text
    if case.code and not case.usage:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("clipforge: error: "), proc.stderr


def run_case(args: list[str], data: Path, cwd: Path, **env: str
             ) -> subprocess.CompletedProcess[str]:
    full_env = cli_env(data)
    full_env.update(env)
    try:
        return run_in_group(clipforge_cmd(*args), timeout=CASE_TIMEOUT, env=full_env, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: clipforge {' '.join(args)} still running after {CASE_TIMEOUT} s")


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_cli(name: str, media: dict[str, Path], tmp_path: Path) -> None:
    case = CLI_CASES[name]
    check_cli(run_case(case.args(media, tmp_path), tmp_path / "data", tmp_path), case)


@pytest.mark.parametrize("path", ["/missing.mp4", "/text.mp4"])
def test_url_to_no_media(path: str, media: dict[str, Path], tmp_path: Path) -> None:
    """A media server that answers 404, or serves a text file."""
    with plain_http_server(media["text.mp4"].parent, tmp_path / "http.log") as base:
        proc = run_case(["process", base + path, "-q"], tmp_path / "data", tmp_path,
                        CLIPFORGE_ALLOW_PRIVATE_URLS="true")
    check_cli(proc, CliCase(lambda m, t: [], 2, (base + path,)))


def test_url_nothing_listens(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/vod.mp4"
    proc = run_case(["process", url, "-q"], tmp_path / "data", tmp_path,
                    CLIPFORGE_ALLOW_PRIVATE_URLS="true")
    check_cli(proc, CliCase(lambda m, t: [], 2, (url,)))


@pytest.mark.parametrize("source", ["four_seconds.m4a", "quiet.m4a"])
def test_nothing_stands_out_ends_with_0_clips(source: str, media: dict[str, Path],
                                              tmp_path: Path) -> None:
    """Shorter than --min-len (4 s of speech), or a quiet tone: exit 0, 0 clips (it once
    never ended: the timeout is a hang guard)."""
    env = cli_env(tmp_path / "data")
    proc = run_in_group(clipforge_cmd("process", str(media[source]), "--out",
                                      str(tmp_path / "out")),
                        timeout=45, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "0 clips" in proc.stdout and "Traceback" not in proc.stderr


# --- the API and WebSocket --------------------------------------------------------------

@dataclass
class Api:
    server: Server
    client: httpx.Client
    token: str
    stream_id: int
    clip: dict[str, Any]
    log_seen: int = 0
    notes: list[str] = field(default_factory=list)

    def new_log(self) -> str:
        """What the server logged since the last call."""
        text = self.server.log.read_text(errors="replace")
        fresh, self.log_seen = text[self.log_seen:], len(text)
        return fresh


def wait_status(client: httpx.Client, stream_id: int, wanted: tuple[str, ...],
                timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stream = client.get(f"/api/streams/{stream_id}").json()
        if stream["status"] in wanted:
            return dict(stream)
        assert time.monotonic() < deadline, f"stream {stream_id} still {stream['status']}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def api(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server for every API case, with one processed stream and its clip."""
    root = tmp_path_factory.mktemp("api")
    server = Server(root / "data", f"sqlite:///{root / 'api.db'}", workers="1",
                    chunk_seconds="30")
    try:
        server.start()
        token = server.cli("user", "create", "editor").strip()
        client = server.client(token)
        created = client.post("/api/streams", json={
            "path": str(media["burst.mp4"]), "top": 1, "min_len": 5, "max_len": 10,
            "captions": False})
        assert created.status_code == 201, created.text
        stream_id = created.json()["id"]
        assert wait_status(client, stream_id, ("done", "failed"))["status"] == "done"
        clips = client.get(f"/api/streams/{stream_id}/clips").json()["items"]
        assert clips
        yield Api(server, client, token, stream_id, clips[0])
        client.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text(errors="replace")


@dataclass(frozen=True)
class ApiCase:
    method: str
    path: str  # may hold {stream} and {clip}
    status: int
    needle: str  # in the error's message
    body: Any = None
    params: dict[str, Any] | None = None
    raw: bytes | None = None  # sent as is instead of `body`


API_CASES: dict[str, ApiCase] = {
    "submit nothing": ApiCase("POST", "/api/streams", 422, "path", body={}),
    # Outside CLIPFORGE_MEDIA_ROOTS, a missing file answers as any other path does: the
    # answer says nothing of what exists on the server.
    "submit a missing file": ApiCase("POST", "/api/streams", 403, "CLIPFORGE_MEDIA_ROOTS",
                                     body={"path": "/nonexistent/vod.mp4"}),
    "submit top 0": ApiCase("POST", "/api/streams", 422, "top",
                            body={"path": "/x.mp4", "top": 0}),
    "submit min_len huge": ApiCase("POST", "/api/streams", 422, "min_len",
                                   body={"path": "/x.mp4", "min_len": 1e308}),
    "submit bad layout": ApiCase("POST", "/api/streams", 422, "layout",
                                 body={"path": "/x.mp4", "layout": "wide"}),
    "submit not JSON": ApiCase("POST", "/api/streams", 422, "JSON", raw=b"{not json"),
    "submit an ftp URL": ApiCase("POST", "/api/streams", 422, "only http",
                                 body={"url": "ftp://example.com/vod.mp4"}),
    "submit with a NaN chat": ApiCase("POST", "/api/streams", 422, "nan",
                                      body={"path": "{media}/tone.m4a",
                                            "chat": "{media}/chat_nan.jsonl"}),
    "PATCH start null": ApiCase("PATCH", "/api/clips/{clip}", 422, "start",
                                body={"start": None}),
    "PATCH title null": ApiCase("PATCH", "/api/clips/{clip}", 422, "title",
                                body={"title": None}),
    "PATCH layout null": ApiCase("PATCH", "/api/clips/{clip}", 422, "layout",
                                 body={"layout": None}),
    "PATCH a 1e-300 s clip": ApiCase("PATCH", "/api/clips/{clip}", 422, "at least 1 s",
                                     body={"start": 0.0, "end": 1e-300}),
    "PATCH a 0.2 s clip": ApiCase("PATCH", "/api/clips/{clip}", 422, "at least 1 s",
                                  body={"start": 3.0, "end": 3.2}),
    "PATCH end before start": ApiCase("PATCH", "/api/clips/{clip}", 422, "start",
                                      body={"start": 9.0, "end": 4.0}),
    "PATCH beyond the stream": ApiCase("PATCH", "/api/clips/{clip}", 422, "stream's length",
                                       body={"start": 2.0, "end": 9000.0}),
    "PATCH start Infinity": ApiCase("PATCH", "/api/clips/{clip}", 422, "start",
                                    raw=b'{"start": Infinity}'),
    "PATCH nothing": ApiCase("PATCH", "/api/clips/{clip}", 422, "nothing to change",
                             body={}),
    "PATCH an unknown field": ApiCase("PATCH", "/api/clips/{clip}", 422, "colour",
                                      body={"colour": "red"}),
    "PATCH no such clip": ApiCase("PATCH", "/api/clips/abcdef", 404, "abcdef",
                                  body={"title": "x"}),
    "streamer caption_size abc": ApiCase("POST", "/api/streamers", 422, "caption_size",
                                         body={"name": "s1",
                                               "settings": {"caption_size": "abc"}}),
    "streamer caption_size 5": ApiCase("POST", "/api/streamers", 422, "caption_size",
                                       body={"name": "s2", "settings": {"caption_size": 5}}),
    "streamer caption_colour red": ApiCase("POST", "/api/streamers", 422, "caption_colour",
                                           body={"name": "s3",
                                                 "settings": {"caption_colour": "red"}}),
    "streamer facecam": ApiCase("POST", "/api/streamers", 422, "facecam",
                                body={"name": "s4", "settings": {"facecam": "1,1"}}),
    "events since -1": ApiCase("GET", "/api/events", 422, "since", params={"since": -1}),
    "events since huge": ApiCase("GET", "/api/events", 422, "since",
                                 params={"since": "9" * 40}),
    "stream id huge": ApiCase("GET", "/api/streams/" + "9" * 30, 422, "stream_id"),
    "jobs limit 0": ApiCase("GET", "/api/jobs", 422, "limit", params={"limit": 0}),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_api(name: str, api: Api, media: dict[str, Path]) -> None:
    case = API_CASES[name]
    path = case.path.format(stream=api.stream_id, clip=api.clip["id"])
    body = json.loads(json.dumps(case.body).replace("{media}", str(media["tone.m4a"].parent)))
    answer = api.client.request(case.method, path, params=case.params,
                                **({"content": case.raw, "headers": {
                                    "Content-Type": "application/json"}}
                                   if case.raw is not None else
                                   {"json": body} if case.body is not None else {}))
    assert answer.status_code == case.status, answer.text
    error = answer.json()
    assert case.needle in error["message"], error
    assert "Traceback" not in api.new_log()


@pytest.mark.parametrize("query", ["since=" + "9" * 40, "since=-5", "stream_id=" + "9" * 20,
                                   "since=99999999999"])
def test_websocket_out_of_range(query: str, api: Api) -> None:
    url = api.server.url.replace("http", "ws") + f"/ws?{query}"
    with connect(url, open_timeout=30,
                 additional_headers={"Authorization": f"Bearer {api.token}"}) as ws:
        error = json.loads(ws.recv(timeout=30))
        assert error["error"] == "bad_request" and query.split("=")[0] in error["message"]
        with pytest.raises(ConnectionClosed, match="4422"):
            ws.recv(timeout=30)
    assert "Traceback" not in api.new_log()


def test_websocket_since_not_a_number(api: Api) -> None:
    url = api.server.url.replace("http", "ws") + "/ws?since=abc"
    # Refused before it opens (HTTP 403), or closed at once.
    with pytest.raises((InvalidStatus, ConnectionClosed)), connect(
            url, open_timeout=30,
            additional_headers={"Authorization": f"Bearer {api.token}"}) as ws:
        ws.recv(timeout=30)
    assert "Traceback" not in api.new_log()


def _store_bad_caption_size(api: Api, streamer: str) -> None:
    """A caption size an older version let in, already in the database."""
    made = api.client.post("/api/streamers", json={"name": streamer,
                                                   "settings": {"caption_size": 60}})
    assert made.status_code == 201, made.text
    with sqlite3.connect(api.server.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE streamers SET settings = ? WHERE name = ?",
                   (json.dumps({"caption_size": "abc"}), streamer))


def test_a_bad_stored_setting_is_refused_when_a_stream_is_submitted(
        api: Api, media: dict[str, Path]) -> None:
    _store_bad_caption_size(api, "legacy")
    created = api.client.post("/api/streams", json={
        "path": str(media["tiny_1x1.mp4"]), "streamer": "legacy"})
    assert created.status_code == 422, created.text
    assert "caption_size 'abc'" in created.json()["message"]
    assert "Traceback" not in api.new_log()
