"""Does the per-streamer re-ranker learn a taste? Precision@5 before and after, as JSON.

Generated streams hold two kinds of highlights, alternating: ones chat reacts to with a
burst of messages ("chat" moments) and ones chat ignores ("quiet" moments: the same
excited speech and cheering, no burst). The default weights favour chat moments. A
streamer who prefers the other kind (by default: quiet) reviews the candidates of some
streams: moments of that kind are approved, the rest rejected. The re-ranker trained on
those labels orders the candidates of held-out streams; we compare the share of the top
5 that are of the preferred kind with the default order.

    .venv/bin/python -m benchmarks.rerank [--prefer quiet|chat] [--train 4] [--test 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from sqlalchemy import select

from clipforge.analysis import rerank
from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.services.orchestrator import process
from clipforge.storage.models import ClipRow
from clipforge.storage.repository import Repository
from tools import chatgen, synth

ROOT = Path(__file__).resolve().parent.parent

KINDS = ["chat", "quiet"]
POOL = 15  # candidates per stream the streamer (and the re-ranker) sees


def kinds(spec: synth.StreamSpec) -> list[str]:
    return [KINDS[i % 2] for i in range(len(spec.highlights))]


def chat_file(spec: synth.StreamSpec, seed: int) -> Path:
    reacted = [h for h, kind in zip(spec.highlights, kinds(spec), strict=True)
               if kind == "chat"]
    path = spec.video.with_suffix(".two-kinds.jsonl")
    return chatgen.write_chat(path, chatgen.make_chat(spec.duration, reacted, 4.0, seed=seed))


def candidates(spec: synth.StreamSpec, prefer: str, tmp: Path, seed: int) -> list[dict]:
    """Each candidate's features and whether it holds a moment of the preferred kind."""
    settings = Settings(data_dir=tmp / spec.video.stem)
    report = process(spec.video, Options(out_dir=tmp / spec.video.stem / "out",
                                         chat=chat_file(spec, seed), top=POOL, render=False),
                     settings)
    repo = Repository(settings.database_url)
    with repo.session() as s:
        features = {row.id: row.features for row in s.scalars(select(ClipRow))}
    liked = [t for t, kind in zip(spec.highlights, kinds(spec), strict=True) if kind == prefer]
    return [{"features": features[c["id"]], "score": c["score"], "rank": c["rank"],
             "liked": any(c["start"] <= t <= c["end"] for t in liked)}
            for c in report["clips"]]


def precision_at_5(pool: list[dict]) -> float:
    top = pool[:5]
    return sum(c["liked"] for c in top) / max(1, len(top))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefer", default="quiet", choices=KINDS)
    parser.add_argument("--train", type=int, default=4)
    parser.add_argument("--test", type=int, default=2)
    args = parser.parse_args()
    cache = ROOT / ".cache" / "rerank"
    specs = [synth.cached_stream(cache, duration=330.0, seed=100 + i, n_highlights=8,
                                 width=640, height=360)
             for i in range(args.train + args.test)]
    with tempfile.TemporaryDirectory() as tmp:
        pools = [candidates(spec, args.prefer, Path(tmp), 100 + i)
                 for i, spec in enumerate(specs)]
    train = [c for pool in pools[: args.train] for c in pool]
    ranker = rerank.train([c["features"] for c in train], [c["liked"] for c in train])
    held_out = []
    for spec, pool in zip(specs[args.train:], pools[args.train:], strict=True):
        default = sorted(pool, key=lambda c: c["rank"])
        learned = default if ranker is None else sorted(
            default, key=lambda c: -ranker.probability(c["features"]))
        held_out.append({"stream": spec.video.name, "candidates": len(pool),
                         "liked_candidates": sum(c["liked"] for c in pool),
                         "default_precision_at_5": precision_at_5(default),
                         "reranked_precision_at_5": precision_at_5(learned)})
    mean = lambda key: round(sum(h[key] for h in held_out) / len(held_out), 3)  # noqa: E731
    print(json.dumps({
        "prefer": args.prefer, "train_labels": len(train),
        "approved_labels": sum(c["liked"] for c in train),
        "ranker_trained": ranker is not None,
        "default_precision_at_5": mean("default_precision_at_5"),
        "reranked_precision_at_5": mean("reranked_precision_at_5"),
        "held_out": held_out,
    }, indent=2))


if __name__ == "__main__":
    main()
