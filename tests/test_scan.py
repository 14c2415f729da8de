"""The whole-stream vision pass (analysis/analyze.scan over media/keyframes): keyframes
decoded alone, at their own times; a frame every few seconds when keyframes are too far
apart; shot cuts found between keyframes, and none within a moving shot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipforge.analysis.analyze import Recognition, embed_every, scan
from clipforge.analysis.faces import FaceDetector
from clipforge.domain import Chunk, MediaInfo
from clipforge.media import ffmpeg, keyframes
from tests.conftest import CACHE
from tools import synth

STREAMS = CACHE / "scan"


def pattern(out: Path, gop: int, seconds: float = 12.0) -> Path:
    """A moving test pattern at 30 fps with a keyframe every GOP frames (no extra ones
    at scene changes: ultrafast turns scenecut off)."""
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        synth.run(synth.ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=640x360:r=30:d={seconds}",
                               "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop),
                               "-pix_fmt", "yuv420p", str(out)))
    return out


def test_keyframes_alone_at_their_own_times() -> None:
    video = pattern(STREAMS / "gop60.mp4", gop=60)
    got = list(keyframes.sample_frames(video, 0.0, 12.0, (320, 180)))
    assert [round(t, 2) for t, _, _ in got] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert all(frame.shape == (180, 320, 3) and sharp is None for _, frame, sharp in got)
    # A range starts at its first keyframe, not at the one before it.
    assert [round(t, 2) for t, _, _ in keyframes.sample_frames(video, 3.0, 6.0, (320, 180))] == \
        [4.0, 6.0, 8.0]
    # Each is the picture at its time: nearer the full decode's frame then than the
    # frames either side of it (the scalers differ, so the pixels do a little).
    full = [f for _, f in ffmpeg.decode_frames(video, 3.9, 0.2, 30.0, 320, 180)]
    change = [float(np.abs(got[2][1].astype(int) - f.astype(int)).mean()) for f in full]
    assert int(np.argmin(change)) == 3, change

    # A sharp frame too, at most one per sharp_every s (for enrolment's embeddings).
    both = list(keyframes.sample_frames(video, 0.0, 12.0, (320, 180), sharp=(640, 360),
                                        sharp_every=4.0))
    assert [round(t, 2) for t, _, sharp in both if sharp is not None] == [0.0, 4.0, 8.0]
    assert all(sharp.shape == (360, 640, 3) for _, _, sharp in both if sharp is not None)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(got, both, strict=True))


def test_sparse_keyframes_are_decoded_through_and_sampled() -> None:
    video = pattern(STREAMS / "gop600.mp4", gop=600)  # one keyframe in 12 s
    times = [t for t, _, _ in keyframes.sample_frames(video, 1.0, 10.0, (320, 180), every=2.0)]
    assert np.allclose(times, [1.0, 3.0, 5.0, 7.0, 9.0], atol=0.04)


def test_every_frame_a_keyframe_is_thinned_out() -> None:
    video = pattern(STREAMS / "gop1.mp4", gop=1, seconds=4.0)  # all intra
    times = [t for t, _, _ in keyframes.sample_frames(video, 0.0, 4.0, (320, 180), every=2.0)]
    assert np.allclose(times, [0.0, 1.0, 2.0, 3.0], atol=0.04)


def test_frames_at_gives_ffmpegs_frames_in_two_sizes() -> None:
    """A clip's frame-by-frame analysis: the frames ffmpeg's fps filter picks (the sharp
    ones pixel for pixel, as ffmpeg scales them), each also small, every n-th sharp;
    a 30 fps source sampled at 10, and at 60 (each frame fills two steps)."""
    video = pattern(STREAMS / "gop60.mp4", gop=60)
    for fps, start in ((10.0, 3.25), (60.0, 1.0)):
        full = list(ffmpeg.decode_frames(video, start, 2.0, fps, 640, 360))
        got = list(keyframes.frames_at(video, start, 2.0, fps, (320, 180), (640, 360), 4))
        assert [round(t, 3) for t, _, _ in got] == [round(t, 3) for t, _ in full]
        for index, ((_, small, sharp), (_, frame)) in enumerate(zip(got, full, strict=True)):
            assert small.shape == (180, 320, 3)
            shrunk = frame.reshape(180, 2, 320, 2, 3).mean(axis=(1, 3))
            assert float(np.abs(small - shrunk).mean()) < 5.0  # swscale area vs a box mean
            if index % 4:
                assert sharp is None
            else:
                assert sharp is not None and np.array_equal(sharp, frame)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def test_scan_finds_the_cut_and_the_face(detector: FaceDetector) -> None:
    """A moving face (keyframe every second) with one shot cut at 5 s: the cut at the
    first keyframe after it and no other; the face in the keyframes."""
    mover = synth.Portrait("grace_hopper.jpg", 300, x0=480, ax=330, y=200, period=6.0,
                           jump=-300)
    video = synth.make_portraits_stream(STREAMS / "mover.mp4", (mover,), duration=9.0,
                                        cut_at=5.0)
    info = ffmpeg.probe(video)
    seen = scan(info, Chunk(0, 0.0, info.duration, ""), detector)
    assert seen.cuts == [5.0]  # the cut falls on a keyframe
    assert len(seen.faces) == 9
    assert sum(1 for s in seen.faces if s.faces) >= 8


def test_enrolment_embeds_a_bounded_number_of_faces_per_stream() -> None:
    """The keyframe scan embeds faces only for enrolment: a short stream every 2 s (the
    settings' rate), a long one ~90 over the whole stream, not one every few seconds."""
    recognition = Recognition(embedder=None, fps=0.5)  # type: ignore[arg-type]
    short = MediaInfo("a.mp4", 60.0, True, True, 1280, 720, 30.0)
    assert embed_every(short, Chunk(0, 0.0, 60.0, ""), recognition) == 2.0
    hour = MediaInfo("b.mp4", 3600.0, True, True, 1280, 720, 30.0)
    chunks = [Chunk(n, n * 300.0, (n + 1) * 300.0, "") for n in range(12)]
    per_stream = sum(c.duration / embed_every(hour, c, recognition) for c in chunks)
    assert 80 <= per_stream <= 100
    assert embed_every(hour, chunks[0], None) == np.inf
