"""`clipforge live`: clips while the stream is still on (jobs/live.py, started by
services/live.py).

The live source is a generated 3-minute stream (tools/synth.py: planted highlights and
chat) cut into 2-s segments and published as a growing event playlist by
tests/live_hls_server.py, a segment every half second (4x real time: the CI's budget).
`clipforge live` is killed -9 mid-stream, once a moment is confirmed, and run again in
the same folder: every planted highlight gets exactly one clip, none twice.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clipforge.analysis import moments
from tests.conftest import CACHE, cli_env, clipforge_cmd
from tests.live_hls_server import LiveSimulator
from tests.procs import kill_group, run_in_group, spawn
from tests.servers import Server
from tests.test_api import SERVER_SETTINGS
from tools import synth

CLIP_ARGS = ("--min-len", "6", "--max-len", "12")


@pytest.fixture(scope="module")
def live_stream() -> tuple[synth.StreamSpec, Path]:
    """The generated stream and its 2-s HLS segments (made once, cached)."""
    spec = synth.cached_stream(CACHE / "streams", duration=180.0, width=640, height=360,
                               fps=15, seed=3)
    return spec, synth.cached_hls(spec, CACHE / "live", fps=15)


@pytest.fixture
def sim(live_stream: tuple[synth.StreamSpec, Path]) -> Iterator[LiveSimulator]:
    server = LiveSimulator(live_stream[1], interval=0.5).start()
    yield server
    server.stop()


def live_env(data: Path) -> dict[str, str]:
    env = cli_env(data)
    env["CLIPFORGE_ALLOW_PRIVATE_URLS"] = "true"
    return env


def state(out: Path) -> dict[str, Any]:
    path = out / "live" / "moments.json"
    return json.loads(path.read_text()) if path.exists() else {"moments": []}


def db_rows(data: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data / "clipforge.db", timeout=10) as conn:
        return conn.execute(sql).fetchall()


def test_killed_mid_stream_and_resumed_one_clip_per_moment(
        live_stream: tuple[synth.StreamSpec, Path], sim: LiveSimulator,
        tmp_path: Path) -> None:
    spec, _ = live_stream
    out, data = tmp_path / "out", tmp_path / "data"
    args = ["live", sim.url(), "--out", str(out), "--chat", str(spec.chat), *CLIP_ARGS]
    victim = spawn(clipforge_cmd(*args, "-q"), env=live_env(data),
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not state(out)["moments"]:  # kill -9 once a moment is confirmed
            assert victim.poll() is None, victim.stderr.read() if victim.stderr else ""
            assert time.monotonic() < deadline, "no moment confirmed in time"
            time.sleep(0.2)
    finally:
        kill_group(victim)
        victim.wait()
    before = state(out)["moments"]
    assert sim.revealed < len(sim.segments), "the stream ended before the kill"
    assert not (out / "report.json").exists()

    resumed = run_in_group(clipforge_cmd(*args, "--json"), timeout=900, env=live_env(data))
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report == json.loads((out / "report.json").read_text())
    assert report["stream"]["duration"] == pytest.approx(spec.duration, abs=2.5)
    after = {m["clip_id"]: m for m in report["live"]["moments"]}
    # No lost moment: every one confirmed before the kill was cut after it.
    for moment in before:
        assert after[moment["clip_id"]]["status"] in ("rendered", "merged"), moment
    clips = report["clips"]
    rendered = [m for m in after.values() if m["status"] == "rendered"]
    assert sorted(c["id"] for c in clips) == sorted(m["clip_id"] for m in rendered)
    for clip in clips:
        assert (out / clip["file"]).stat().st_size > 0
        assert 6.0 - 0.5 <= clip["end"] - clip["start"] <= 12.0 + 0.7
    # No duplicate: no two clips share most of their time.
    spans = sorted((c["start"], c["end"]) for c in clips)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:], strict=False):
        assert min(a1, b1) - max(a0, b0) < 0.5 * min(a1 - a0, b1 - b0), spans
    # Every planted highlight has its clip.
    for planted in spec.highlights:
        assert any(c["start"] - 1.0 <= planted <= c["end"] for c in clips), (planted, spans)
    # In the review queue: rendered clips of the stream, each announced.
    rows = db_rows(data, "SELECT id, status FROM clips")
    assert sorted(rows) == sorted((c["id"], "rendered") for c in clips)
    announced = {json.loads(p)["clip_id"] for (p,) in db_rows(
        data, "SELECT payload FROM events WHERE name = 'clip.rendered'")}
    assert announced == {c["id"] for c in clips}
    streams = db_rows(data, "SELECT status, options FROM streams")
    assert [(s, json.loads(o)["live"]) for s, o in streams] == [("done", True)]



@pytest.mark.parametrize("how", ["kill", "stop"])
def test_a_server_killed_while_following_follows_on_when_started_again(
        live_stream: tuple[synth.StreamSpec, Path], sim: LiveSimulator, tmp_path: Path,
        how: str) -> None:
    """`clipforge serve` following a live stream is killed -9 (or stopped: SIGTERM) once a
    moment is confirmed and started again: it follows on from the stream's folder, by
    itself, and the stream ends `done` with one clip per moment, each announced once. A
    stopped server leaves the stream live, not ended."""
    spec, _ = live_stream
    data, database = tmp_path / "data", tmp_path / "live.db"
    server = Server(data, f"sqlite:///{database}", allow_private_urls="true",
                    **SERVER_SETTINGS).start()
    try:
        token = server.cli("user", "create", "ed", "--password", "correct horse").strip()
        api = server.client(token)
        made = api.post("/api/streams", json={"url": sim.url(), "live": True,
                                              "chat": str(spec.chat), "min_len": 6,
                                              "max_len": 12})
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        deadline = time.monotonic() + 300
        while not (found := list(data.glob("**/live/moments.json"))) or \
                not json.loads(found[0].read_text())["moments"]:
            assert time.monotonic() < deadline, "no moment confirmed in time"
            time.sleep(0.2)
        server.kill() if how == "kill" else server.stop()
        assert sim.revealed < len(sim.segments), "the stream ended before the kill"
        with sqlite3.connect(database, timeout=10) as conn:
            assert conn.execute("SELECT status FROM streams").fetchall() == [("processing",)]
        server.start()
        api = server.client(token)  # the old one's connections died with the server
        deadline = time.monotonic() + 600
        while (stream := api.get(f"/api/streams/{sid}").json())["status"] == "processing":
            assert time.monotonic() < deadline, "the stream was not followed to its end"
            time.sleep(1.0)
        assert stream["status"] == "done", stream
        clips = api.get(f"/api/streams/{sid}/clips").json()["items"]
    finally:
        server.stop()
    spans = sorted((c["start"], c["end"]) for c in clips)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:], strict=False):
        assert min(a1, b1) - max(a0, b0) < 0.5 * min(a1 - a0, b1 - b0), spans
    for planted in spec.highlights:
        assert any(start - 1.0 <= planted <= end for start, end in spans), (planted, spans)
    with sqlite3.connect(database, timeout=10) as conn:
        announced = [json.loads(p)["clip_id"] for (p,) in conn.execute(
            "SELECT payload FROM events WHERE name = 'clip.rendered'")]
    assert sorted(announced) == sorted(c["id"] for c in clips)

def test_bad_live_sources_fail_clearly(live_stream: tuple[synth.StreamSpec, Path],
                                       sim: LiveSimulator, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for url, said in ((sim.url(sim.segments[0][0]), "is not live now"),
                      (sim.url("nothing.m3u8"), "HTTP 404"),
                      ("http://127.0.0.1:9/live.m3u8", "cannot be reached")):
        done = run_in_group(clipforge_cmd("live", url, "--out", str(tmp_path / "out")),
                            timeout=120, env=live_env(data))
        assert done.returncode != 0
        assert said in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_moments_wait_for_the_reaction_to_end() -> None:
    curve = np.zeros(40)
    curve[10:16] = [1.2, 3.0, 5.0, 4.0, 2.0, 0.8]
    assert moments.confirmed(curve[:18], 100, 0.0, 4, 30.0) is None  # still ringing
    found = moments.confirmed(curve[:25], 100, 0.0, 4, 30.0)
    assert found == moments.Moment(peak=112.5, score=5.0, start=110.0, end=115.0)
    assert moments.confirmed(curve[:25], 100, 116.0, 4, 30.0) is None  # done already
    weak = curve.copy()
    weak[30:34] = [1.1, 1.5, 1.2, 0.2]  # above MIN_PEAK, below the live bar: skipped
    assert moments.confirmed(weak, 100, 117.0, 4, 30.0) is None
    tail = curve.copy()
    tail[15:40] = 1.0  # chat's tail: above MIN_PEAK, under a quarter of the peak
    assert moments.confirmed(tail, 100, 0.0, 4, 30.0).end == 115.0  # type: ignore[union-attr]
    long = np.full(40, 2.0)
    assert moments.confirmed(long[:20], 0, 0.0, 4, 30.0) is None
    assert moments.confirmed(long, 0, 0.0, 4, 30.0) is not None  # a whole clip long


def test_twitch_chat_feeds_the_live_scores_and_rides_out_a_cut(tmp_path: Path) -> None:
    """`--chat twitch:CHANNEL`: messages recorded as they come are read back as they grow
    (a line half written waits), in stream time; a cut connection is ridden out."""
    from clipforge.config import Settings
    from clipforge.jobs import live_chat
    from tests.fake_twitch_irc import FakeTwitchIrc
    from tests.test_twitch_irc import START, privmsg

    server = FakeTwitchIrc().start()
    settings = Settings(twitch_irc_url=server.url)
    feed = live_chat.feed("twitch:SomeChannel", tmp_path, START, settings, lambda _t: None)
    assert feed is not None and feed.recorder is not None
    try:
        server.wait_for(lambda: server.joined() == [1])
        for t in (10.2, 10.7, 11.1):
            server.send(privmsg("LUL what", int((START + t) * 1000), name=f"v{t}"))
        server.wait_for(lambda: feed.signals(0, 30).rate[10:12].sum() == 3)
        server.cut()
        server.wait_for(lambda: 2 in server.joined(), timeout=15)
        server.send(privmsg("Pog", int((START + 25.5) * 1000)))
        server.wait_for(lambda: feed.signals(0, 30).rate[25] == 1)
        shifted = feed.signals(10, 20)  # in the history's own time
        assert shifted.rate[0:2].sum() == 3 and shifted.rate[15] == 1
    finally:
        feed.close()
        server.stop()
