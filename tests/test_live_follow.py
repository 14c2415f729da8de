"""Following a live HLS stream (sources/live_hls.py).

One test follows a real live stream: ffmpeg publishes a generated stream in real time
(`-re`, an event playlist of 2 s segments) into a folder served over HTTP; a follower
is killed -9 midway and another resumes in the same folder. The others use a simulated
live playlist made of segments generated beforehand (tests/live_hls_server.py), so the
faults (a stall, cut connections, 5xx, a segment gone) come on cue and fast."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from clipforge import errors
from clipforge.config import Settings
from clipforge.sources import hls
from clipforge.sources.addresses import Limits
from clipforge.sources.live_hls import LiveFollower, LiveSegment, follower_from
from tests.live_hls_server import LiveSimulator
from tests.media_server import MediaServer
from tests.procs import kill_group, run_in_group, spawn, stop_group

ROOT = Path(__file__).resolve().parent.parent
OPEN = Limits(allow_private=True)  # the servers are on 127.0.0.1
LAVFI = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25",
          "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k"]


def hls_out(folder: Path, seconds: float, segment: float, kind: str) -> list[str]:
    return [*ENCODE, "-t", str(seconds), "-f", "hls", "-hls_time", str(segment),
            "-hls_playlist_type", kind, "-hls_segment_filename", str(folder / "seg%03d.ts")]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 one-second segments, made as fast as ffmpeg goes (not in real time)."""
    folder = tmp_path_factory.mktemp("segments")
    done = run_in_group(["ffmpeg", "-hide_banner", "-loglevel", "error", *LAVFI,
                         *hls_out(folder, 8, 1, "vod"), str(folder / "index.m3u8")],
                        timeout=60)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def sim(made: Path) -> Iterator[LiveSimulator]:
    server = LiveSimulator(made).start()
    yield server
    server.stop()


def follow(follower: LiveFollower, timeout: float = 60.0) -> list[LiveSegment]:
    got = []
    deadline = time.monotonic() + timeout
    for segment in follower.segments():
        got.append(segment)
        assert time.monotonic() < deadline, "the follower did not end in time"
    return got


def contiguous(got: list[LiveSegment]) -> None:
    for before, after in zip(got, got[1:], strict=False):
        assert after.sequence == before.sequence + 1
        assert after.start == pytest.approx(before.end, abs=1e-6)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (16_000, 1)
        return wav.getnframes() / wav.getframerate()


# --- a real live stream, kill -9 and resume ---------------------------------------------

FOLLOWER = """
import json, sys
from pathlib import Path
from clipforge.sources.addresses import Limits
from clipforge.sources.live_hls import LiveFollower
follower = LiveFollower(sys.argv[1], Path(sys.argv[2]), Limits(allow_private=True),
                        ring_seconds=6)
with open(sys.argv[3], "a") as log:
    for s in follower.segments():
        log.write(json.dumps([s.sequence, s.start, s.duration]) + "\\n")
        log.flush()
"""


def write_master(folder: Path) -> None:
    """A master playlist whose 1080p rendition must not be picked (it does not exist)."""
    (folder / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080\nhd/live.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180\nlive.m3u8\n")


def wait_for(what, timeout: float, proc: subprocess.Popen | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out waiting"
        assert proc is None or proc.poll() is None, "the process ended early"
        time.sleep(0.1)


def test_a_live_stream_followed_killed_and_resumed(tmp_path: Path) -> None:
    live, work = tmp_path / "live", tmp_path / "follow"
    live.mkdir()
    write_master(live)
    server = MediaServer(live).start()
    publisher = spawn(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", *LAVFI,
                       *hls_out(live, 24, 2, "event"), str(live / "live.m3u8")],
                      stdin=subprocess.DEVNULL)
    first_log = tmp_path / "first.jsonl"
    try:
        wait_for((live / "live.m3u8").exists, 15, publisher)
        follower = spawn([sys.executable, "-c", FOLLOWER, server.url("master.m3u8"), str(work),
                          str(first_log)], cwd=ROOT, env={"PYTHONPATH": str(ROOT),
                                                          "PATH": "/usr/bin:/bin"})
        wait_for(lambda: first_log.exists() and len(first_log.read_text().splitlines()) >= 3,
                 30, follower)
        kill_group(follower)  # kill -9, mid-stream
        follower.wait()
        first = [json.loads(line) for line in first_log.read_text().splitlines()]
        second, ring_sizes = resume(server, work)
        assert publisher.wait(timeout=30) == 0
    finally:
        stop_group(publisher)
        server.stop()
    check_resumed(first, second, server, live)
    assert max(ring_sizes) <= 6 / 2 + 1  # 6 s of 2 s segments, plus the newest


def resume(server: MediaServer, work: Path) -> tuple[list[LiveSegment], list[int]]:
    """Follow to the end in WORK, with the playlist answering 503 for 3 s on the way."""
    follower = LiveFollower(server.url("master.m3u8"), work, OPEN, ring_seconds=6,
                            backoff=0.2, max_backoff=1.0)
    got, ring_sizes = [], []
    for segment in follower.segments():
        got.append(segment)
        ring_sizes.append(len(list((work / "ring").glob("*.ts"))))
        assert segment.audio is not None
        assert wav_seconds(segment.audio) == pytest.approx(segment.duration, abs=0.1)
        if len(got) == 2:
            server.statuses["/live.m3u8"] = 503
            threading.Timer(3.0, server.statuses.clear).start()
    return got, ring_sizes


def check_resumed(first: list[list[float]], second: list[LiveSegment], server: MediaServer,
                  live: Path) -> None:
    final = hls.parse((live / "live.m3u8").read_text(), server.url("live.m3u8"))
    assert isinstance(final, hls.MediaPlaylist) and final.ended
    # Killed after handing a segment out, before it counted as taken: that one segment
    # may come again (keyed by sequence), never one skipped.
    assert second[0].sequence in (first[-1][0], first[-1][0] + 1)
    sequences = sorted({s[0] for s in first} | {s.sequence for s in second})
    assert sequences == [s.sequence for s in final.segments]
    contiguous(second)
    assert [s[1] for s in first] == pytest.approx([sum(f[2] for f in first[:i])
                                                   for i in range(len(first))])
    assert second[-1].end == pytest.approx(sum(s.duration for s in final.segments), abs=1e-3)
    for segment in final.segments:  # each fetched once, kill or not
        name = "/" + segment.url.rsplit("/", 1)[1]
        assert [r.status for r in server.requests(name)] == [200], name
    assert not server.requests("/hd/")  # the 1080p rendition was never touched
    assert any(r.status == 503 for r in server.requests("/live.m3u8"))


# --- faults on cue ------------------------------------------------------------------------

def test_stall_cuts_and_5xx_are_ridden_out(sim: LiveSimulator, tmp_path: Path) -> None:
    notices: list[str] = []
    follower = LiveFollower(sim.url(), tmp_path, OPEN, ring_seconds=3, stall_seconds=10,
                            backoff=0.1, max_backoff=0.5, on_notice=notices.append)
    got = []
    for segment in follower.segments():
        got.append(segment)
        if segment.sequence == 1:
            sim.frozen = True  # a 3 s stall, and the playlist failing twice in it
            sim.playlist_errors = [502, 503]
            threading.Timer(3.0, setattr, (sim, "frozen", False)).start()
        elif segment.sequence == 3:
            sim.drop = 2  # the next two requests cut without an answer
    assert [s.sequence for s in got] == list(range(len(sim.segments)))
    contiguous(got)
    assert all(sim.fetched(f"/{name}") == 1 for name, _ in sim.segments)
    assert any(status == 0 for _, status in sim.log)  # the cuts happened
    assert any(status == 502 for _, status in sim.log)
    assert any("trying again" in n for n in notices)
    assert len(list((tmp_path / "ring").glob("*.ts"))) <= 3 + 1


def test_a_long_stall_fails_clearly_and_a_rerun_resumes(sim: LiveSimulator,
                                                       tmp_path: Path) -> None:
    sim.frozen = True
    follower = LiveFollower(sim.url(), tmp_path, OPEN, stall_seconds=1.5)
    got = []
    with pytest.raises(errors.LiveStalled, match="no new segment for 1.5 s"):
        for segment in follower.segments():
            got.append(segment)
    assert [s.sequence for s in got] == [0]
    sim.frozen = False
    rest = follow(LiveFollower(sim.url(), tmp_path, OPEN, stall_seconds=5))
    assert [s.sequence for s in rest] == list(range(1, len(sim.segments)))
    contiguous(got + rest)


def test_a_segment_gone_is_skipped_with_its_time_kept(sim: LiveSimulator,
                                                     tmp_path: Path) -> None:
    notices: list[str] = []
    sim.statuses["/seg003.ts"] = 404
    got = follow(LiveFollower(sim.url(), tmp_path, OPEN, on_notice=notices.append))
    assert [s.sequence for s in got] == [0, 1, 2, 4, 5, 6, 7]
    assert got[3].start == pytest.approx(got[2].end + sim.segments[3][1])
    assert any("segment 3 is gone" in n for n in notices)


def test_pins_keep_a_window_and_until_ends_early(sim: LiveSimulator, tmp_path: Path) -> None:
    follower = LiveFollower(sim.url(), tmp_path, OPEN, ring_seconds=2, until=5.0)
    key = follower.pin(0.0, 1.5)  # a clip window over segments 0 and 1
    got = follow(follower)
    assert got[-1].end >= 5.0 and got[-1].start < 5.0 and len(got) < len(sim.segments)
    kept = sorted(p.name for p in (tmp_path / "ring").glob("*.ts"))
    assert kept[:2] == ["seg-000000000.ts", "seg-000000001.ts"] and len(kept) <= 2 + 3
    follower.unpin(key)
    assert not (tmp_path / "ring" / "seg-000000000.ts").exists()


def test_a_stopped_follower_resumes_and_stop_ends_retries(sim: LiveSimulator,
                                                          tmp_path: Path) -> None:
    settings = Settings(allow_private_urls=True, live_ring_seconds=4.0)
    first = []
    for segment in follower_from(settings, sim.url(), tmp_path).segments():
        first.append(segment)
        if len(first) == 3:
            break  # the consumer stops: the generator is closed at its yield
    follower = follower_from(settings, sim.url(), tmp_path)
    follower.backoff = 5.0
    sim.playlist_errors = [503] * 100  # down from now on: the follower retries...
    threading.Timer(1.0, follower.stop).start()
    asked = time.monotonic() + 1.0
    assert follow(follower, timeout=10) == []  # ...until stopped, quietly
    assert time.monotonic() - asked < 1.0
    sim.playlist_errors = []
    rest = follow(follower_from(settings, sim.url(), tmp_path))
    assert [s.sequence for s in first + rest] == list(range(len(sim.segments)))
    contiguous(first + rest)


def test_private_addresses_are_refused(sim: LiveSimulator, tmp_path: Path) -> None:
    with pytest.raises(errors.UnsafeUrl, match="private, loopback"):
        next(LiveFollower(sim.url(), tmp_path, Limits()).segments())
    assert not sim.log


def test_playlists() -> None:
    master = hls.parse("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=9,RESOLUTION=1920x1080\n"
                       "a.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=5,RESOLUTION=1280x720\nb.m3u8\n"
                       "#EXT-X-STREAM-INF:BANDWIDTH=2,RESOLUTION=640x360\nc.m3u8\n",
                       "https://h/x/master.m3u8")
    assert isinstance(master, list)
    assert hls.pick_variant(master, 720, "m").url == "https://h/x/b.m3u8"
    assert hls.pick_variant(master, 240, "m").url == "https://h/x/c.m3u8"
    media = hls.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n"
                      "#EXTINF:2.0,\n/s/40.ts\n#EXTINF:1.5,\n41.ts\n", "https://h/x/l.m3u8")
    assert isinstance(media, hls.MediaPlaylist) and not media.ended
    assert media.segments == [hls.Segment(40, 2.0, "https://h/s/40.ts"),
                              hls.Segment(41, 1.5, "https://h/x/41.ts")]
    with pytest.raises(errors.UnsupportedSource, match="encrypted"):
        hls.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n",
                  "u")
    with pytest.raises(errors.UnsupportedSource, match="not an HLS playlist"):
        hls.parse("<html>", "u")
