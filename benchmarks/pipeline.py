"""Per-stage and end-to-end realtime factors (source seconds per wall second), as JSON.

Stage figures are source seconds per second of work summed over that stage's jobs;
transcribe and analyze jobs run in parallel, so their sum exceeds their wall time.

Generates (once, cached in .cache/bench) a 10-minute 1280x720 30 fps stream with a face,
speech and chat, processes it from scratch, and prints the figures.

    .venv/bin/python -m benchmarks.pipeline [--duration 600] [--top 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.services.orchestrator import process
from tools import synth

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--full-transcript", action="store_true",
                        help="transcribe and analyze everything (no cascade)")
    args = parser.parse_args()
    began = time.perf_counter()
    spec = synth.cached_stream(ROOT / ".cache" / "bench", duration=args.duration, seed=10)
    generated = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        options = Options(out_dir=Path(tmp) / "out", chat=spec.chat, top=args.top,
                          full_transcript=args.full_transcript)
        began = time.perf_counter()
        report = process(spec.video, options, settings)
        wall = time.perf_counter() - began
    source = report["stream"]["duration"]
    clip_seconds = sum(c["end"] - c["start"] for c in report["clips"])
    stages = {
        name: {"seconds": secs, "realtime_factor": round(source / secs, 1) if secs else None}
        for name, secs in report["timings"].items() if name != "total"
    }
    print(json.dumps({
        "source_seconds": round(source, 1),
        "mode": "full transcript" if args.full_transcript else "cascade",
        "cores": os.cpu_count(),
        "stream_generation_seconds": round(generated, 1),
        "stages": stages,
        "render_clip_seconds": round(clip_seconds, 1),
        "render_output_realtime_factor": round(clip_seconds / report["timings"]["render"], 2),
        "end_to_end": {"seconds": round(wall, 1), "realtime_factor": round(source / wall, 1)},
        "clips": len(report["clips"]),
        # Sanity on what the speed bought: clips that hold a planted highlight.
        "clips_on_planted_highlights": sum(
            any(c["start"] <= h <= c["end"] for h in spec.highlights) for c in report["clips"]),
    }, indent=2))


if __name__ == "__main__":
    main()
