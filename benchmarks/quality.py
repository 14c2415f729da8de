"""How good are the picks? recall@5, precision@5, decoys, clip edges: as JSON.

Five generated streams, each with 5 planted highlights (excited speech, then cheering
and a chat burst) and 3 decoys (two loud music passages nobody reacts to, one chat spam
burst with no event). Every stream is varied so no single rule passes: voice pitch,
speech level, background noise and chat lag differ. Each stream is scored four ways:
`all` signals, `no_chat` (no chat file), `no_audio` (loudness, brightness and loud
non-speech weighted 0) and `no_chat_no_audio`, to show what each signal adds.

    .venv/bin/python -m benchmarks.quality [--streams 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from clipforge.analysis.score import DEFAULT_WEIGHTS
from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.services.orchestrator import process
from tools import chatgen, synth

ROOT = Path(__file__).resolve().parent.parent

# (seed, voice pitch factor, speech gain dB, noise amplitude, chat lag s)
VARIATIONS = [
    (201, 1.00, 0.0, 0.002, 2.0),
    (202, 1.25, -6.0, 0.010, 4.0),
    (203, 0.85, 4.0, 0.020, 6.0),
    (204, 1.15, -9.0, 0.006, 8.0),
    (205, 0.92, 2.0, 0.030, 10.0),
]
EDGE_TOLERANCE = 0.4
VARIANTS = ("all", "no_chat", "no_audio", "no_chat_no_audio")
NO_AUDIO = {**DEFAULT_WEIGHTS, "loudness": 0.0, "brightness": 0.0, "loud_nonspeech": 0.0}


def varied_stream(seed: int, pitch: float, gain: float, noise: float,
                  lag: float) -> tuple[synth.StreamSpec, Path, Path]:
    """The base stream with its voice, level and noise changed, and chat at `lag`."""
    cache = ROOT / ".cache" / "quality"
    spec = synth.cached_stream(cache / "base", duration=240.0, seed=seed, n_highlights=5,
                               width=640, height=360)
    video = cache / f"varied-{seed}-p{pitch}-g{gain}-n{noise}.mp4"
    if not video.exists():
        tmp = video.with_name(video.stem + ".part.mp4")
        graph = (f"[0:a]rubberband=pitch={pitch},volume={gain}dB[voice];"
                 f"anoisesrc=color=pink:amplitude={noise}:seed={seed}[noise];"
                 "[voice][noise]amix=inputs=2:duration=first:normalize=0[a]")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(spec.video),
                        "-filter_complex", graph, "-map", "0:v", "-map", "[a]", "-c:v", "copy",
                        "-c:a", "aac", "-b:a", "128k", str(tmp)], check=True)
        tmp.replace(video)
    spam = spam_times(spec)
    chat = chatgen.write_chat(video.with_suffix(f".lag{lag}.jsonl"), chatgen.make_chat(
        spec.duration, spec.highlights, lag, spam_at=spam, seed=seed))
    return spec, video, chat


def spam_times(spec: synth.StreamSpec) -> list[float]:
    """synth plans music in every other gap between highlights and spam in the first
    remaining one: the decoys that fall in an odd gap."""
    gaps = list(zip(spec.highlights, spec.highlights[1:], strict=False))
    return [d for d in spec.decoys
            if any(a < d < b and i % 2 == 1 for i, (a, b) in enumerate(gaps))]


def on_boundary(t: float, sentences: list[tuple[float, float, str]]) -> bool:
    """Not inside a spoken sentence (a little slack after ends and before starts)."""
    return not any(start + EDGE_TOLERANCE < t < end - EDGE_TOLERANCE
                   for start, end, _ in sentences)


def evaluate(spec: synth.StreamSpec, clips: list[dict[str, Any]]) -> dict[str, Any]:
    top = clips[:5]
    holds = lambda c, times: any(c["start"] <= t <= c["end"] for t in times)  # noqa: E731
    caught = [h for h in spec.highlights if any(holds(c, [h]) for c in top)]
    true_ranks = [c["rank"] for c in top if holds(c, spec.highlights)]
    decoy_ranks = [c["rank"] for c in clips if holds(c, spec.decoys)]
    edges = [t for c in top for t in (c["start"], c["end"])]
    return {
        "recall_at_5": len(caught) / len(spec.highlights),
        "precision_at_5": len(true_ranks) / max(1, len(top)),
        "decoy_in_top_5": any(r <= 5 for r in decoy_ranks),
        "decoys_above_a_true_highlight": sum(r < max(true_ranks, default=0)
                                             for r in decoy_ranks),
        "edges_on_boundary": sum(on_boundary(t, spec.sentences) for t in edges)
        / max(1, len(edges)),
    }


def run_variant(name: str, spec: synth.StreamSpec, video: Path, chat: Path,
                tmp: Path) -> dict[str, Any]:
    settings = Settings(data_dir=tmp / name / video.stem)
    options = Options(out_dir=tmp / name / video.stem / "out", top=10, render=False,
                      chat=None if name.startswith("no_chat") else chat,
                      weights=NO_AUDIO if name.endswith("no_audio") else None)
    clips = process(video, options, settings)["clips"]
    return evaluate(spec, clips)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    mean = lambda key: round(sum(r[key] for r in rows) / len(rows), 3)  # noqa: E731
    return {"recall_at_5": mean("recall_at_5"), "precision_at_5": mean("precision_at_5"),
            "streams_without_decoy_in_top_5": sum(not r["decoy_in_top_5"] for r in rows),
            "decoys_above_a_true_highlight": sum(r["decoys_above_a_true_highlight"]
                                                 for r in rows),
            "edges_on_boundary": mean("edges_on_boundary"), "streams": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=len(VARIATIONS))
    args = parser.parse_args()
    streams = [varied_stream(*v) for v in VARIATIONS[: args.streams]]
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in VARIANTS:
            rows = [run_variant(name, *s, Path(tmp)) for s in streams]
            result[name] = {"summary": summary(rows), "per_stream": rows}
    result["variations"] = [dict(zip(("seed", "pitch", "gain_db", "noise", "chat_lag"), v,
                                      strict=True)) for v in VARIATIONS[: args.streams]]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
