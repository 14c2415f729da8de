"""The score job: fuse every signal over the stream and pick the clips."""

from __future__ import annotations

from pathlib import Path

from clipforge.analysis import cascade, score
from clipforge.domain import Candidate
from clipforge.jobs import steps
from clipforge.jobs.context import Run
from clipforge.storage import artifacts
from clipforge.storage.models import JobRow


def lexicon(run: Run) -> frozenset[str]:
    words = run.settings.hype_words.get(run.settings.language)
    return frozenset(w.lower() for w in words) if words else score.HYPE_LEXICON


def score_params(run: Run) -> dict[str, object]:
    """What the pick depends on besides its input jobs (which are in its key too)."""
    opts = run.options
    return {"top": opts.top, "min": opts.min_len, "max": opts.max_len,
            "chat": artifacts.file_digest(opts.chat) if opts.chat else None,
            "weights": run.weights, "ranker": run.ranker.to_json() if run.ranker else None,
            "lexicon": sorted(lexicon(run)), "emotes": run.settings.emotes}


def score_stream(run: Run, job: JobRow) -> Path:
    opts, payload = run.options, job.payload
    _, spans, lag = steps.load_chunking(Path(payload["chunking"]))
    analyses = steps.load_analyses(payload["analyses"])
    inputs = score.Inputs(
        seconds=run.seconds, audio=steps.load_signals(Path(payload["signals"])),
        segments=steps.load_transcripts(payload["transcripts"]),
        cuts=[c for a in analyses for c in a.cuts],
        faces=[f for a in analyses for f in a.faces], chat=steps.chat_signal(run),
        chat_lag=lag, lexicon=lexicon(run),
    )
    # Peaks only where the transcript and vision ran, clear of the windows' edges.
    allowed = cascade.mask(spans, run.seconds, inset=opts.min_len / 2)
    picked, used_lag = score.pick(inputs, opts.top, opts.min_len, opts.max_len, run.weights,
                                  allowed=allowed, rerank=run.ranker)
    path = run.artifact(job, ".json")
    timeline = [round(float(v), 2) for v in score.curve(inputs, run.weights)]
    artifacts.write_json(path, {"chat_lag": used_lag, "estimated": lag is None,
                                "clips": artifacts.to_json(picked), "curve": timeline})
    run.progress.advance("score", 1.0)
    return path


def load_curve(path: Path) -> list[float]:
    data = artifacts.read_json(path)
    assert isinstance(data, dict)
    return list(data.get("curve", []))


def load_picks(path: Path) -> tuple[list[Candidate], int, bool]:
    """The picked candidates, the chat lag used, and whether it was estimated here."""
    data = artifacts.read_json(path)
    assert isinstance(data, dict)
    return ([Candidate(**c) for c in data["clips"]], int(data["chat_lag"]),
            bool(data["estimated"]))
