"""How good are the picks? recall@5, precision@5, decoys, clip edges, titles: as JSON.

Generated streams, each with 5 planted highlights (excited speech, then cheering and a
chat burst from many viewers) and 3 decoys (two loud music passages nobody reacts to,
one copy-paste flood from 4 accounts with no event). Every stream is varied so no single
rule passes: voice pitch, speech level, background noise and chat lag differ. Variants:

* `all`: every signal; `no_chat`: no chat file; `no_audio` and `no_chat_no_audio`: the
  audio features weighted 0 (what each signal adds);
* `bed`, `bed_no_chat`: a continuous music-and-game-sound bed under the voice at about
  speech level; `copypasta`: floods from 3-5 accounts at every decoy; `whisper`: two
  highlights whispered, answered by a bigger, later chat reaction; `two_voices`: a
  co-host talking through the calm parts; `lag12`: chat 12 s late (see variants.py).

Titles count as phrases when they are a contiguous run of the clip's words or of one
chat message; every title is written to --titles for tests/test_titles.py.

    .venv/bin/python -m benchmarks.quality [--streams 5] [--variants all,no_chat]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import variants
from benchmarks.variants import Case
from clipforge.analysis.score import DEFAULT_WEIGHTS
from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.services.orchestrator import process
from clipforge.sources.chat import read_chat
from tools import synth

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
VARIANTS = ("all", "no_chat", "bed", "bed_no_chat", "copypasta", "whisper", "two_voices",
            "lag12", "no_audio", "no_chat_no_audio")
CHAT_REACH = 25.0  # seconds after a clip in which its chat may be
NO_AUDIO = {**DEFAULT_WEIGHTS, "loudness": 0.0, "brightness": 0.0, "loud_nonspeech": 0.0,
            "pitch": 0.0}


def varied_stream(seed: int, pitch: float, gain: float, noise: float, lag: float) -> Case:
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
    return variants.with_chat(Case(spec, video, video, lag), "base", seed)


def variant_case(name: str, case: Case, seed: int) -> Case:
    """The stream as variant NAME sees it."""
    if name.startswith("bed"):
        return variants.bed_audio(case, seed)
    if name == "copypasta":
        return variants.with_chat(case, name, seed, flood_all=True)
    if name == "whisper":
        return variants.with_chat(variants.whispered_audio(case), name, seed, whispered=True)
    if name == "two_voices":
        return variants.two_voices(case, seed)
    if name == "lag12":
        return variants.with_chat(case, name, seed, lag=12.0)
    return case


def on_boundary(t: float, sentences: list[tuple[float, float, str]]) -> bool:
    """Not inside a spoken sentence (a little slack after ends and before starts)."""
    return not any(start + EDGE_TOLERANCE < t < end - EDGE_TOLERANCE
                   for start, end, _ in sentences)


def evaluate(spec: synth.StreamSpec, clips: list[dict[str, Any]],
             titles: list[dict[str, Any]]) -> dict[str, Any]:
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
        "titles_are_phrases": sum(title_is_phrase(**t) for t in titles) / max(1, len(titles)),
        "titles": [t["title"] for t in titles],
    }


def tokens(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def title_is_phrase(title: str, words: list[str], chat: list[str]) -> bool:
    """TITLE is a contiguous run of the clip's words, or of one of its chat messages."""
    want = tokens(title)
    runs = [tokens(" ".join(words)), *(tokens(m) for m in chat)]
    return bool(want) and any(want == run[i: i + len(want)]
                              for run in runs for i in range(len(run) - len(want) + 1))


def clip_titles(report: dict[str, Any], chat: Path | None) -> list[dict[str, Any]]:
    """Each clip's title with the words said in it and the chat written during it."""
    said = [w for seg in report["transcript"] for w in seg["words"]]
    messages = read_chat(chat) if chat is not None else []
    return [{"title": c["title"],
             "words": [w["word"] for w in said if c["start"] <= w["start"] < c["end"]],
             "chat": [m.text for m in messages
                      if c["start"] <= m.t < c["end"] + CHAT_REACH]}
            for c in report["clips"][:5]]


def run_variant(name: str, case: Case, tmp: Path, seed: int,
                titles_out: list[dict[str, Any]]) -> dict[str, Any]:
    case = variant_case(name, case, seed)
    settings = Settings(data_dir=tmp / name / case.video.stem)
    chat = None if "no_chat" in name else case.chat
    options = Options(out_dir=tmp / name / case.video.stem / "out", top=10, render=False,
                      chat=chat, weights=NO_AUDIO if name.endswith("no_audio") else None)
    report = process(case.video, options, settings)
    titles = clip_titles(report, chat)
    titles_out += [{"variant": name, "seed": seed, **t} for t in titles]
    return evaluate(case.spec, report["clips"], titles)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    mean = lambda key: round(sum(r[key] for r in rows) / len(rows), 3)  # noqa: E731
    return {"recall_at_5": mean("recall_at_5"), "precision_at_5": mean("precision_at_5"),
            "streams_without_decoy_in_top_5": sum(not r["decoy_in_top_5"] for r in rows),
            "decoys_above_a_true_highlight": sum(r["decoys_above_a_true_highlight"]
                                                 for r in rows),
            "edges_on_boundary": mean("edges_on_boundary"),
            "titles_are_phrases": mean("titles_are_phrases"), "streams": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=len(VARIATIONS))
    parser.add_argument("--skip", type=int, default=0,
                        help="leave out the first SKIP streams (to run the rest apart)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, from: " + ", ".join(VARIANTS))
    parser.add_argument("--titles", type=Path, default=None,
                        help="write every title with its clip's words and chat here (JSON)")
    args = parser.parse_args()
    chosen = [v for v in args.variants.split(",") if v]
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {sorted(unknown)}")
    picked = VARIATIONS[args.skip: args.streams]
    streams = [varied_stream(*v) for v in picked]
    result: dict[str, Any] = {}
    titles: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            rows = [run_variant(name, case, Path(tmp), v[0], titles)
                    for case, v in zip(streams, picked, strict=True)]
            result[name] = {"summary": summary(rows), "per_stream": rows}
            print(json.dumps({name: result[name]["summary"]}), file=sys.stderr, flush=True)
    result["variations"] = [dict(zip(("seed", "pitch", "gain_db", "noise", "chat_lag"), v,
                                      strict=True)) for v in picked]
    if args.titles is not None:
        lines = (json.dumps(t, ensure_ascii=False) for t in titles)  # a title a line
        args.titles.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
