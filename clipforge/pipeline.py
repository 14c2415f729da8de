"""The embedded pipeline: probe → audio → chunk → (transcribe ∥ analyze per chunk) →
signals → score → render, each step recorded in the job ledger so a re-run resumes.

Stages are pure functions over files and dataclasses; this module wires them together,
stores their artifacts, and decides what is already done.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipforge import errors
from clipforge.config import Settings
from clipforge.domain import (
    Analysis,
    Candidate,
    ChatMessage,
    Chunk,
    FaceSample,
    MediaInfo,
    RenderedClip,
    Segment,
)
from clipforge.media import ffmpeg
from clipforge.progress import NullProgress, Progress
from clipforge.runtime import artifacts, feedback, scoring
from clipforge.runtime.ledger import Ledger, write_json
from clipforge.runtime.rendering import listed_clip, render_clip
from clipforge.stages import chat as chat_stage
from clipforge.stages import chunk as chunk_stage
from clipforge.stages import score, transcribe
from clipforge.stages.analyze import analyze
from clipforge.stages.faces import FaceDetector
from clipforge.stages.rerank import Reranker
from clipforge.storage.repository import Repository

LAYOUTS = ("auto", "crop", "blur")


@dataclass(frozen=True)
class Options:
    out_dir: Path
    chat: Path | None = None
    top: int = 5
    layout: str = "auto"
    min_len: float = 15.0
    max_len: float = 60.0
    captions: bool = True
    streamer: str = "default"  # whose chat lag and preferences apply
    full_transcript: bool = False  # transcribe and analyze everything, not just candidates
    render: bool = True  # False: pick and report the moments only (no clip files)
    weights: dict[str, float] | None = None  # feature weights; None: score.DEFAULT_WEIGHTS


@dataclass
class Run:
    """What one run of the pipeline works with."""

    info: MediaInfo
    options: Options
    settings: Settings
    ledger: Ledger
    work: Path
    progress: Progress
    streamer_lag: float | None = None
    ranker: Reranker | None = None  # the streamer's learned preferences, if any

    @property
    def seconds(self) -> int:
        """Length of the per-second feature arrays."""
        return int(np.ceil(self.info.duration))

    @property
    def weights(self) -> dict[str, float]:
        return self.options.weights if self.options.weights is not None else \
            score.DEFAULT_WEIGHTS


def fingerprint(path: Path) -> str:
    """Identify a source by content (size, head and tail), so a moved file still resumes."""
    size = path.stat().st_size
    digest = hashlib.sha1(str(size).encode())
    with path.open("rb") as f:
        digest.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        digest.update(f.read(1 << 20))
    return digest.hexdigest()[:16]


def validate(source: Path | str, options: Options
             ) -> tuple[MediaInfo, list[ChatMessage] | None]:
    """Check every input before any work starts, so bad input costs nothing."""
    if "://" in str(source):
        raise errors.UnsupportedSource(
            f"{source}: URLs are not supported yet; download the VOD and give the file path"
        )
    if options.layout not in LAYOUTS:
        raise errors.BadOption(f"--layout {options.layout}: use one of {', '.join(LAYOUTS)}")
    if not 1.0 <= options.min_len <= options.max_len:
        raise errors.BadOption(
            f"--min-len {options.min_len} / --max-len {options.max_len}: need "
            "1 <= min-len <= max-len"
        )
    if options.top < 1:
        raise errors.BadOption(f"--top {options.top}: ask for at least one clip")
    ffmpeg.require_tools()
    info = ffmpeg.probe(Path(source))
    chat = chat_stage.read_chat(options.chat) if options.chat else None
    return info, chat


def process(source: Path | str, options: Options, settings: Settings,
            progress: Progress | None = None) -> dict[str, Any]:
    """Turn one recording into ranked, rendered clips; returns the report."""
    began = time.perf_counter()
    info, chat = validate(source, options)
    source = Path(source)
    repo = Repository(settings.database_url)
    streamer = repo.streamer(options.streamer)
    key = fingerprint(source)
    stream = repo.stream(key, str(source.resolve()), info.duration, streamer.id)
    work = Path(settings.storage_url) / key
    work.mkdir(parents=True, exist_ok=True)
    run = Run(info, options, settings, Ledger(repo, stream.id, key), work,
              progress or NullProgress(), streamer.chat_lag,
              feedback.reranker(streamer.ranker))
    repo.set_stream(stream.id, status="processing")
    samples = audio_stage(run)
    audio = scoring.signals_stage(run, samples)
    chat_signal = scoring.chat_signal(run, chat)
    lag = scoring.known_chat_lag(run, chat)
    spans = scoring.windows_stage(run, audio, chat_signal, lag)
    chunks = chunking_stage(run, samples, spans)
    transcripts, analyses = chunk_stages(run, chunks)
    segments = [seg for part in transcripts for seg in part]
    candidates, used_lag = scoring.scoring_stage(run, audio, segments, analyses, chat_signal,
                                                 lag, spans)
    if chat is not None:
        repo.set_stream(stream.id, chat_lag=float(used_lag))
        if lag is None:  # estimated from this stream: remember it for short ones
            repo.set_streamer_lag(streamer.id, float(used_lag))
    faces = [f for a in analyses for f in a.faces]
    clips = render_stage(run, candidates, segments, faces)
    repo.prune_clips(stream.id, {c.id for c in clips})
    repo.set_stream(stream.id, status="done")
    timings = run.ledger.timings()
    timings["total"] = round(time.perf_counter() - began, 3)
    report = artifacts.report(info, clips, segments, timings)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(options.out_dir / "report.json", report)
    return report


def render_stage(run: Run, candidates: list[Candidate], segments: list[Segment],
                 faces: list[FaceSample]) -> list[RenderedClip]:
    if not run.options.render:
        return [listed_clip(run, cand) for cand in candidates]
    run.progress.begin("render", len(candidates))
    for stale in (run.options.out_dir / "clips").glob("*.part*"):  # left by a killed render
        stale.unlink()
    clips = [render_clip(run, cand, segments, faces) for cand in candidates]
    run.progress.end("render", skipped=run.ledger.skipped("render"))
    return clips


def audio_stage(run: Run) -> np.ndarray:
    path = run.work / "audio.wav"
    run.progress.begin("audio", run.info.duration)
    run.ledger.run("audio", "stream", path,
                         lambda: chunk_stage.extract_audio(run.info, path))
    run.progress.advance("audio", run.info.duration)
    run.progress.end("audio", skipped=run.ledger.skipped("audio"))
    return ffmpeg.read_wav(path)


def chunking_stage(run: Run, samples: np.ndarray,
                   spans: list[tuple[float, float]]) -> list[Chunk]:
    params = {"seconds": run.settings.chunk_seconds, "spans": spans}
    path = run.work / f"chunks-{run.ledger.key('chunk', 'stream', params)[-10:]}.json"

    def produce() -> None:
        pieces = chunk_stage.plan(samples, spans, run.settings.chunk_seconds)
        chunks = chunk_stage.write_chunks(samples, pieces, run.work / "chunks")
        run.ledger.repo.save_chunks(run.ledger.stream_id, chunks)
        write_json(path, artifacts.to_json(chunks))

    run.progress.begin("chunk", 1)
    run.ledger.run("chunk", "stream", path, produce, params)
    run.progress.end("chunk", skipped=run.ledger.skipped("chunk"))
    return artifacts.load_chunks(path)


def chunk_stages(run: Run, chunks: list[Chunk]) -> tuple[list[list[Segment]], list[Analysis]]:
    """Transcribe and analyze every chunk, all in parallel on the local pool."""
    workers = max(1, run.settings.workers)
    # Greedy decoding barely uses a second thread; chunks in parallel use every core.
    model = transcribe.load_model(run.settings.whisper_model, run.settings.whisper_compute_type,
                                  1, workers)
    run.progress.begin("transcribe", run.info.duration)
    run.progress.begin("analyze", run.info.duration)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        heard = [pool.submit(transcribe_chunk, run, c, model) for c in chunks]
        seen = [pool.submit(analyze_chunk, run, c) for c in chunks]
        transcripts = [f.result() for f in heard]
        analyses = [f.result() for f in seen]
    run.progress.end("transcribe", skipped=run.ledger.skipped("transcribe"))
    run.progress.end("analyze", skipped=run.ledger.skipped("analyze"))
    return transcripts, analyses


def transcribe_chunk(run: Run, chunk: Chunk, model: object) -> list[Segment]:
    path = run.work / f"transcript-{_span(chunk)}.json"

    def produce() -> None:
        done = chunk.start
        segments = []
        for seg in transcribe.transcribe(chunk, model, run.settings.language):
            segments.append(seg)
            run.progress.advance("transcribe", max(0.0, seg.end - done))
            done = max(done, seg.end)
        run.progress.advance("transcribe", max(0.0, chunk.end - done))
        write_json(path, artifacts.to_json(segments))

    params = {"model": run.settings.whisper_model, "language": run.settings.language}
    if not run.ledger.run("transcribe", _span(chunk), path, produce, params):
        run.progress.advance("transcribe", chunk.duration)
    return artifacts.load_segments(path)


def analyze_chunk(run: Run, chunk: Chunk) -> Analysis:
    path = run.work / f"analysis-{_span(chunk)}.json"
    s = run.settings
    last = [0.0]

    def tick(offset: float) -> None:
        run.progress.advance("analyze", offset - last[0])
        last[0] = offset

    def produce() -> None:
        result = analyze(run.info, chunk, FaceDetector(), s.analysis_fps, s.face_fps,
                         s.analysis_width, on_progress=tick)
        write_json(path, artifacts.to_json(result))

    params = {"fps": s.analysis_fps, "face_fps": s.face_fps, "width": s.analysis_width}
    run.ledger.run("analyze", _span(chunk), path, produce, params)
    run.progress.advance("analyze", chunk.duration - last[0])
    return artifacts.load_analysis(path)


def _span(chunk: Chunk) -> str:
    """Chunks are named by the span they cover: a re-run that plans the same span reuses
    its work, one with other windows does not mistake it for its own."""
    return f"{chunk.start:010.3f}-{chunk.end:010.3f}"
