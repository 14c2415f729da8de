"""One captioned 1080x1920 clip rendered twice: with the render settings before issue 19
(x264 veryfast, crf 21) and with today's defaults (ultrafast with CABAC, crf 22). Prints,
as JSON per layout: CPU and wall seconds of each render, its realtime factor (clip seconds
per wall second), file size, and the SSIM of today's render against the old one.

Uses the 10-minute 1280x720 30 fps benchmark stream (.cache/bench, made once).

    .venv/bin/python -m benchmarks.render_ssim [--start 120] [--duration 15] [--fps 30]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import ssim
from clipforge.analysis import captions
from clipforge.config import Settings
from clipforge.domain import Word
from clipforge.media.render import OUT_H, OUT_W, RenderSpec, render
from tools import synth

ROOT = Path(__file__).resolve().parent.parent
OLD = {"preset": "veryfast", "crf": 21}


def spoken_words(spec: synth.StreamSpec) -> list[Word]:
    """The stream's sentences as words spread evenly over each sentence's span."""
    words = []
    for start, end, text in spec.sentences:
        parts = text.split()
        step = (end - start) / max(len(parts), 1)
        words += [Word(start + i * step, start + (i + 1) * step, w, 1.0)
                  for i, w in enumerate(parts)]
    return words


def layouts(width: int, height: int) -> dict[str, dict[str, Any]]:
    crop_w = round(height * OUT_W / OUT_H / 2) * 2
    top_h = OUT_H * 2 // 5
    return {
        "crop": {"layout": "crop", "crop_width": crop_w, "crop_height": height,
                 "crop_path": [float((width - crop_w) // 2)]},
        "stacked": {"layout": "stacked", "top_height": top_h,
                    "top_region": (width * 0.70, 0.0, width * 0.30,
                                   width * 0.30 * top_h / OUT_W),
                    "bottom_region": (width * 0.10, 0.0, height * OUT_W / (OUT_H - top_h),
                                      float(height))},
    }


def timed_render(spec: RenderSpec) -> dict[str, float]:
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    render(spec)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_seconds": round(wall, 1),
            "cpu_seconds": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 1),
            "realtime_factor": round(spec.duration / wall, 2),
            "mb": round(spec.out.stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", type=float, default=120.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args()
    stream = synth.cached_long_stream(ROOT / ".cache" / "bench", 600.0, seed=10,
                                      width=1280, height=720, fps=args.fps)
    settings = Settings()
    new = {"preset": settings.x264_preset, "crf": settings.x264_crf}
    results: dict[str, Any] = {"clip_seconds": args.duration, "old": OLD, "new": new}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ass = folder / "clip.ass"
        captions.write(ass, captions.build(spoken_words(stream), args.start,
                                           args.start + args.duration))
        for name, layout in layouts(1280, 720).items():
            runs = {}
            for label, x264 in (("old", OLD), ("new", new)):
                spec = RenderSpec(source=stream.video, start=args.start,
                                  duration=args.duration, out=folder / f"{name}-{label}.mp4",
                                  captions=ass, **layout, **x264)
                runs[label] = timed_render(spec)
            runs["ssim_new_vs_old"] = round(ssim(folder / f"{name}-new.mp4",
                                                 folder / f"{name}-old.mp4"), 4)
            results[name] = runs
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
