"""The chunk job: pick where the expensive stages run (the cascade's candidate windows,
or everything with a full transcript) and cut those spans in chunks. Then, per chunk:
transcribe and analyze."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipforge.analysis import cascade, signals
from clipforge.analysis import chunk as chunking
from clipforge.domain import Chunk
from clipforge.jobs.analyze import AnalyzeInput, recognition_settings
from clipforge.jobs.base import Finished, Result, spec, unkeyed
from clipforge.jobs.chat import chat_signal, known_chat_lag
from clipforge.jobs.context import Run
from clipforge.jobs.transcribe import TranscribeInput
from clipforge.media import ffmpeg
from clipforge.storage import artifacts, store
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import JobRow
from clipforge.storage.repository import save_chunks


@dataclass(frozen=True)
class ChunkInput:
    after: str  # the ingest job's key
    seconds: float  # of a chunk
    full: bool  # transcribe and analyze everything, not just the candidate windows
    top: int
    max: float
    weights: dict[str, float]
    chat: str | None  # the chat file's digest
    lag: int | None  # the streamer's chat lag, when the stream is too short for its own
    emotes: list[str]
    signals: str = unkeyed()  # the ingest job's result


def run(run: Run, inp: ChunkInput) -> Result:
    audio = load_signals(Path(inp.signals))
    if inp.full:
        spans = [(0.0, run.info.duration)]
    else:
        spans = cascade.windows(audio, chat_signal(run), run.seconds, inp.top, inp.max,
                                inp.weights, inp.lag)
    samples = ffmpeg.Pcm(audio_path(run))
    pieces = chunking.plan(samples, spans, inp.seconds)
    chunks = chunking.write_chunks(samples, pieces, run.work / "chunks")
    path = run.artifact(".json")
    artifacts.write_json(path, {"spans": spans, "lag": inp.lag,
                                "chunks": artifacts.to_json(chunks)})
    run.progress.advance("chunk", 1.0)
    return Result(path, {"chunks": artifacts.to_json(chunks)})


def audio_path(run: Run) -> Path:
    """The stream's audio, which ingest extracted."""
    return run.work / "audio.wav"


def reads(run: Run, _inp: ChunkInput) -> list[str]:
    return [str(audio_path(run))]


def load_signals(path: Path) -> signals.AudioSignals:
    with np.load(store.local(path)) as data:
        saved = {name: data[name] for name in data.files}
    return signals.AudioSignals(**saved)


def load_chunking(path: Path) -> tuple[list[Chunk], list[tuple[float, float]], int | None]:
    raw = artifacts.read_json(path)
    assert isinstance(raw, dict)
    return ([Chunk(**c) for c in raw["chunks"]], [tuple(s) for s in raw["spans"]],
            raw["lag"])


def chunk_spec(run: Run, ingested: JobRow) -> JobSpec:
    """The chunk job that follows the stream's ingest job (INGESTED)."""
    out, opts = ingested.output or {}, run.options
    lag = known_chat_lag(run.seconds, out.get("chat_messages"), run.streamer_lag)
    assert ingested.result is not None
    return spec("chunk", "stream", ChunkInput(
        after=ingested.key, seconds=run.settings.chunk_seconds,
        full=opts.full_transcript, top=opts.top, max=opts.max_len, weights=run.weights,
        chat=out.get("chat_digest"), lag=lag, emotes=list(run.settings.emotes),
        signals=ingested.result))


def follow(done: Finished, _inp: ChunkInput) -> list[JobSpec]:
    """Fan out: transcribe (in the stream's language, with the model for it) and analyze
    each chunk."""
    chunks = [Chunk(**c) for c in done.output["chunks"]]
    save_chunks(done.s, done.stream.id, chunks)
    s = done.run.settings
    language = done.run.language
    specs = []
    for piece in chunks:
        span = f"{piece.start:010.3f}-{piece.end:010.3f}"
        specs.append(spec("transcribe", span, TranscribeInput(
            model=s.speech_model(language), language=language, chunk=piece)))
        specs.append(spec("analyze", span, AnalyzeInput(
            width=s.analysis_width, faces=recognition_settings(s), chunk=piece)))
    return specs

