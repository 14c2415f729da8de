"""The scoring side of the pipeline: audio signals, chat lag, the cascade's windows and
the final pick, each recorded in the job ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from clipforge.domain import Analysis, Candidate, ChatMessage, Segment
from clipforge.runtime import artifacts
from clipforge.runtime.ledger import read_json, write_json
from clipforge.stages import cascade, score, signals

if TYPE_CHECKING:
    from clipforge.pipeline import Run

# Below these, a stream's own chat says too little about its lag: use the streamer's.
LAG_MIN_SECONDS = 120
LAG_MIN_MESSAGES = 30


def signals_stage(run: Run, samples: np.ndarray) -> signals.AudioSignals:
    path = run.work / "signals.npz"

    def produce() -> None:
        result = signals.audio_signals(samples, run.seconds)
        tmp = path.with_name("signals.part.npz")
        np.savez(tmp, loudness=result.loudness, brightness=result.brightness,
                 flatness=result.flatness)
        tmp.replace(path)

    run.progress.begin("signals", 1)
    run.ledger.run("signals", "stream", path, produce)
    run.progress.end("signals", skipped=run.ledger.skipped("signals"))
    with np.load(path) as data:
        return signals.AudioSignals(data["loudness"], data["brightness"], data["flatness"])


def lexicon(run: Run) -> frozenset[str]:
    words = run.settings.hype_words.get(run.settings.language)
    return frozenset(w.lower() for w in words) if words else score.HYPE_LEXICON


def chat_signal(run: Run, chat: list[ChatMessage] | None) -> signals.ChatSignals | None:
    if chat is None:
        return None
    emotes = frozenset(e.lower() for e in run.settings.emotes) or signals.DEFAULT_EMOTES
    return signals.chat_signals(chat, run.seconds, emotes)


def known_chat_lag(run: Run, chat: list[ChatMessage] | None) -> int | None:
    """The streamer's stored lag when this stream is too short to estimate its own."""
    if chat is None or (run.seconds >= LAG_MIN_SECONDS and len(chat) >= LAG_MIN_MESSAGES):
        return None
    stored = run.streamer_lag
    return int(round(stored)) if stored is not None else None


def windows_stage(run: Run, audio: signals.AudioSignals,
                  chat: signals.ChatSignals | None, lag: int | None
                  ) -> list[tuple[float, float]]:
    """Where transcription and vision run: everywhere, or the cascade's windows."""
    if run.options.full_transcript:
        return [(0.0, run.info.duration)]
    return cascade.windows(audio, chat, run.seconds, run.options.top, run.options.max_len,
                           run.weights, lag)


def scoring_stage(run: Run, audio: signals.AudioSignals, segments: list[Segment],
                  analyses: list[Analysis], chat: signals.ChatSignals | None,
                  lag: int | None, spans: list[tuple[float, float]],
                  ) -> tuple[list[Candidate], int]:
    opts = run.options
    params = {"top": opts.top, "min": opts.min_len, "max": opts.max_len,
              "chat": artifacts.file_digest(opts.chat) if opts.chat else None,
              "weights": run.weights, "lag": lag, "spans": spans,
              "ranker": run.ranker.to_json() if run.ranker else None,
              "lexicon": sorted(lexicon(run)), "emotes": run.settings.emotes}
    path = run.work / f"score-{run.ledger.key('score', 'stream', params)[-10:]}.json"

    def produce() -> None:
        inputs = score.Inputs(
            seconds=run.seconds, audio=audio, segments=segments,
            cuts=[c for a in analyses for c in a.cuts],
            faces=[f for a in analyses for f in a.faces], chat=chat, chat_lag=lag,
            lexicon=lexicon(run),
        )
        # Peaks only where the transcript and vision ran, clear of the windows' edges.
        allowed = cascade.mask(spans, run.seconds, inset=opts.min_len / 2)
        picked, used_lag = score.pick(inputs, opts.top, opts.min_len, opts.max_len,
                                      run.weights, allowed=allowed, rerank=run.ranker)
        write_json(path, {"chat_lag": used_lag, "clips": artifacts.to_json(picked)})

    run.progress.begin("score", 1)
    run.ledger.run("score", "stream", path, produce, params)
    run.progress.end("score", skipped=run.ledger.skipped("score"))
    data = read_json(path)
    assert isinstance(data, dict)
    return [Candidate(**c) for c in data["clips"]], int(data["chat_lag"])
