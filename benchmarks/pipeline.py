"""Per-stage and end-to-end realtime factors (source seconds per wall second), as JSON.

Stage figures are source seconds per second of work summed over that stage's jobs;
transcribe and analyze jobs run in parallel, so their sum exceeds their wall time.

Generates (once, cached in .cache/bench) a stream with a face, speech, scene changes and
chat (10 minutes of 1280x720 at 30 fps by default; a longer one is a generated 10-minute
segment repeated with stream copy), processes it from scratch, and prints the figures:
per stage, end to end, peak memory of the process tree (ffmpeg included), peak scratch
disk, and the ratio to one full ffmpeg decode of the same file measured in the same run
(on its first 10 minutes, scaled). End to end also counts the CPU seconds of the run
(the process and the ffmpeg children it waited for).

With --profile the pool runs one job at a time, and each stage gets its CPU seconds
(ffmpeg children included) and its top functions by cumulative and by own CPU time
(cProfile per job, summed per stage; see benchmarks/profiles.py), so the next bottleneck
is visible. Its wall-clock figures are then those of one worker, not the benchmark's.

    .venv/bin/python -m benchmarks.pipeline [--duration 600] [--fps 30] [--height 720]
                                            [--clips 5] [--full-transcript] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks.measure import Sampler, decode_floor
from benchmarks.profiles import StageProfiler, cpu_seconds
from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.services.orchestrator import process
from tools import synth

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--height", type=int, default=720, help="width is 16:9 of it")
    parser.add_argument("--clips", "--top", dest="top", type=int, default=5)
    parser.add_argument("--full-transcript", action="store_true",
                        help="transcribe and analyze everything (no cascade)")
    parser.add_argument("--profile", action="store_true",
                        help="one job at a time; CPU seconds and top functions per stage")
    args = parser.parse_args()
    began = time.perf_counter()
    width = args.height * 16 // 9 // 2 * 2
    spec = synth.cached_long_stream(ROOT / ".cache" / "bench", args.duration, seed=10,
                                    width=width, height=args.height, fps=args.fps)
    generated = time.perf_counter() - began
    floor = decode_floor(spec.video, spec.duration)
    with tempfile.TemporaryDirectory() as tmp, Sampler(Path(tmp)) as sampled:
        settings = Settings(data_dir=Path(tmp) / "data")
        if args.profile:
            settings = settings.model_copy(update={"workers": 1})
        profiler = StageProfiler() if args.profile else None
        options = Options(out_dir=Path(tmp) / "out", chat=spec.chat, top=args.top,
                          full_transcript=args.full_transcript)
        cpu_before = sum(cpu_seconds())
        began = time.perf_counter()
        report = process(spec.video, options, settings, hooks=profiler)
        wall = time.perf_counter() - began
        cpu = sum(cpu_seconds()) - cpu_before
        windows = window_seconds(settings.data_dir)
    source = report["stream"]["duration"]
    source_bytes = spec.video.stat().st_size
    clip_seconds = sum(c["end"] - c["start"] for c in report["clips"])
    stages = {
        name: {"seconds": secs, "realtime_factor": round(source / secs, 1) if secs else None}
        for name, secs in report["timings"].items() if name != "total"
    }
    print(json.dumps({
        "source_seconds": round(source, 1),
        "source": f"{width}x{args.height} {args.fps} fps, {source_bytes / 2**20:.0f} MiB",
        "mode": "full transcript" if args.full_transcript else "cascade",
        "cores": os.cpu_count(),
        "stream_generation_seconds": round(generated, 1),
        "stages": stages,
        # What the cascade left to transcribe and scan (the source, with --full-transcript).
        "candidate_window_seconds": windows,
        "render_clip_seconds": round(clip_seconds, 1),
        "render_output_realtime_factor": round(clip_seconds / report["timings"]["render"], 2),
        "end_to_end": {"seconds": round(wall, 1), "realtime_factor": round(source / wall, 1),
                       "cpu_seconds": round(cpu, 1)},
        "workers": settings.workers,
        "decode_floor": floor,
        "times_the_decode_floor": round(wall / floor["seconds"], 2),
        "peak_rss_mb": round(sampled.peak_rss / 2**20),
        # Which processes made the peak (this one holds the pool's threads and models).
        "rss_at_peak_mb": {name: round(size / 2**20)
                           for name, size in sorted(sampled.at_peak.items())},
        # Scratch is all beyond the source: a local source is read in place, not copied.
        "peak_scratch_mb": round(sampled.peak_disk / 2**20),
        "clips": len(report["clips"]),
        # Sanity on what the speed bought: clips that hold a planted highlight.
        "clips_on_planted_highlights": sum(
            any(c["start"] <= h <= c["end"] for h in spec.highlights) for c in report["clips"]),
        **({"profile": profiler.report()} if profiler else {}),
    }, indent=2))


def window_seconds(data: Path) -> float | None:
    """Seconds of stream in the cascade's windows, from the chunk job's result."""
    for path in data.rglob("chunk-*.json"):
        spans = json.loads(path.read_text())["spans"]
        return round(sum(end - start for start, end in spans), 1)
    return None


if __name__ == "__main__":
    main()
