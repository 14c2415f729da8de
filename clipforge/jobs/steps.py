"""The jobs before scoring: ingest (audio and its signals), chunk (the cascade's windows
split into chunks), and per chunk, transcribe and analyze.

Each step takes the stream's Run and its job, writes its result atomically (temp name,
then rename) and returns the result's path; `jobs/flow.py` says which step follows which.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipforge import errors
from clipforge.analysis import cascade, signals, transcribe
from clipforge.analysis import chunk as chunk_stage
from clipforge.analysis.analyze import Recognition
from clipforge.analysis.analyze import analyze as analyze_frames
from clipforge.analysis.faces import FaceDetector
from clipforge.analysis.recognize import make_embedder
from clipforge.domain import Analysis, Chunk, MediaInfo, Segment
from clipforge.jobs.context import Run
from clipforge.media import ffmpeg
from clipforge.sources import chat as chat_stage
from clipforge.sources import ingest as ingest_stage
from clipforge.sources import twitch_chat
from clipforge.storage import artifacts, store
from clipforge.storage.models import JobRow

log = logging.getLogger(__name__)

# Below these, a stream's own chat says too little about its lag: use the streamer's.
LAG_MIN_SECONDS = 120
LAG_MIN_MESSAGES = 30


def ingest(run: Run, job: JobRow) -> Path:
    """Download a URL's analysis rendition (a file is used as it is); extract the audio
    once and compute the cheap per-second audio signals."""
    run.progress.advance("ingest", 0.0)
    if ingest_stage.is_url(run.source):
        run.info = fetch(run, job)  # from here on, the stream is the downloaded file
    samples = chunk_stage.extract_audio(run.info, audio_path(run))
    result = signals.audio_signals(samples, run.seconds)
    path = run.artifact(job, ".npz")
    tmp = path.with_name(path.stem + ".part.npz")
    np.savez(tmp, loudness=result.loudness, brightness=result.brightness,
             flatness=result.flatness)
    tmp.replace(path)
    run.progress.advance("ingest", 1.0 - DOWNLOAD_SHARE if ingest_stage.is_url(run.source)
                         else 1.0)
    return path


DOWNLOAD_SHARE = 0.9  # of the ingest progress bar


def fetch(run: Run, job: JobRow) -> MediaInfo:
    """Download what a URL stream is analyzed from (the low rendition, or everything in
    full quality with `download_full`) and its chat replay when the site has one; record
    both next to the job's result for `load_fetched`."""
    s = run.settings
    fmt = ingest_stage.RENDER_FORMAT if s.download_full else \
        ingest_stage.analysis_format(s.analysis_height)
    done = [0.0]

    def tick(fraction: float) -> None:
        if fraction > done[0]:
            run.progress.advance("ingest", DOWNLOAD_SHARE * (fraction - done[0]))
            done[0] = fraction

    chat = run.options.chat is None
    path = ingest_stage.download(run.source, run.work / "source", "media", fmt,
                                 ingest_stage.limits_from(s), on_progress=tick, live_chat=chat)
    info = ffmpeg.probe(store.portable(path))  # the ledger keeps it: no machine's own path
    if info.duration > s.max_duration_hours * 3600.0:
        raise errors.TooLong(f"{run.source}: lasts {info.duration / 3600:.1f} h, longer than "
                             f"the limit of {s.max_duration_hours:g} h "
                             "(CLIPFORGE_MAX_DURATION_HOURS)")
    replay = run.work / "source" / "media.live_chat.json"
    found, problem = (replay if replay.exists() else None), None
    if chat and found is None:
        found, problem = twitch_chat_replay(run, info.duration)
    artifacts.write_json(_fetched_path(run, job), {
        "media": asdict(info), "chat": str(found) if found else None, "chat_error": problem})
    run.progress.advance("ingest", DOWNLOAD_SHARE - done[0])
    return info


def twitch_chat_replay(run: Run, duration: float) -> tuple[Path | None, str | None]:
    """A Twitch VOD's chat replay, or why there is none: chat only adds to the picks,
    so a stream whose chat cannot be fetched goes on without it."""
    vod = twitch_chat.video_id(run.source)
    if vod is None:
        return None, None
    endpoint = twitch_chat.Endpoint(run.settings.twitch_gql_url, run.settings.twitch_client_id)
    try:
        return twitch_chat.download(vod, run.work / "source" / "media.twitch_chat.jsonl",
                                    endpoint, duration), None
    except errors.ChatUnavailable as exc:
        log.warning("%s", exc.message)
        return None, exc.message


@dataclass(frozen=True)
class Fetched:
    """What ingest downloaded for a URL stream."""

    info: MediaInfo
    chat: Path | None
    chat_error: str | None  # why a site's chat replay could not be fetched


def _fetched_path(run: Run, job: JobRow) -> Path:
    return run.artifact(job, ".source.json")


def load_fetched(run: Run, job: JobRow) -> Fetched | None:
    """The downloaded media (and chat replay) of a URL stream; None for a local file."""
    path = _fetched_path(run, job)
    if not store.exists(path):
        return None
    raw = artifacts.read_json(path)
    assert isinstance(raw, dict)
    return Fetched(MediaInfo(**raw["media"]), Path(raw["chat"]) if raw["chat"] else None,
                   raw.get("chat_error"))


def audio_path(run: Run) -> Path:
    return run.work / "audio.wav"


def load_signals(path: Path) -> signals.AudioSignals:
    with np.load(store.local(path)) as data:
        return signals.AudioSignals(data["loudness"], data["brightness"], data["flatness"])


def chunk(run: Run, job: JobRow) -> Path:
    """Pick where the expensive stages run (the cascade), and cut those spans in chunks."""
    audio = load_signals(Path(job.payload["signals"]))
    chat = chat_signal(run)
    lag = known_chat_lag(run)
    if run.options.full_transcript:
        spans = [(0.0, run.info.duration)]
    else:
        spans = cascade.windows(audio, chat, run.seconds, run.options.top,
                                run.options.max_len, run.weights, lag)
    samples = ffmpeg.read_wav(audio_path(run))
    pieces = chunk_stage.plan(samples, spans, run.settings.chunk_seconds)
    chunks = chunk_stage.write_chunks(samples, pieces, run.work / "chunks")
    path = run.artifact(job, ".json")
    artifacts.write_json(path, {"spans": spans, "lag": lag, "chunks": artifacts.to_json(chunks)})
    run.progress.advance("chunk", 1.0)
    return path


def load_chunking(path: Path) -> tuple[list[Chunk], list[tuple[float, float]], int | None]:
    raw = artifacts.read_json(path)
    assert isinstance(raw, dict)
    return ([Chunk(**c) for c in raw["chunks"]], [tuple(s) for s in raw["spans"]],
            raw["lag"])


def chat_messages(run: Run) -> list[Any] | None:
    return chat_stage.read_chat(run.options.chat) if run.options.chat else None


def chat_signal(run: Run) -> signals.ChatSignals | None:
    chat = chat_messages(run)
    if chat is None:
        return None
    emotes = frozenset(e.lower() for e in run.settings.emotes) or signals.DEFAULT_EMOTES
    return signals.chat_signals(chat, run.seconds, emotes)


def known_chat_lag(run: Run) -> int | None:
    """The streamer's stored lag when this stream is too short to estimate its own."""
    chat = chat_messages(run)
    if chat is None or (run.seconds >= LAG_MIN_SECONDS and len(chat) >= LAG_MIN_MESSAGES):
        return None
    stored = run.streamer_lag
    return int(round(stored)) if stored is not None else None


def transcribe_chunk(run: Run, job: JobRow) -> Path:
    piece = Chunk(**job.payload["chunk"])
    assert run.transcriber is not None, "the pool gives every run its speech model"
    done = piece.start
    segments: list[Segment] = []
    for seg in transcribe.transcribe(piece, run.transcriber(), run.settings.language):
        segments.append(seg)
        run.progress.advance("transcribe", max(0.0, seg.end - done))
        done = max(done, seg.end)
    run.progress.advance("transcribe", max(0.0, piece.end - done))
    path = run.artifact(job, ".json")
    artifacts.write_json(path, artifacts.to_json(segments))
    return path


def analyze_chunk(run: Run, job: JobRow) -> Path:
    piece = Chunk(**job.payload["chunk"])
    s = run.settings
    last = [0.0]

    def tick(offset: float) -> None:
        run.progress.advance("analyze", offset - last[0])
        last[0] = offset

    # One embedder per job: dlib's nets keep per-call state, so threads do not share one.
    recognition = Recognition(make_embedder(s.face_backend, s.face_model_dir),
                              s.recognize_fps, s.recognize_width)
    result = analyze_frames(run.info, piece, FaceDetector(), s.analysis_fps, s.face_fps,
                            s.analysis_width, on_progress=tick, recognition=recognition)
    run.progress.advance("analyze", piece.duration - last[0])
    path = run.artifact(job, ".json")
    artifacts.write_json(path, artifacts.to_json(result))
    return path


def load_transcripts(paths: list[str]) -> list[Segment]:
    return [seg for p in paths for seg in artifacts.load_segments(Path(p))]


def load_analyses(paths: list[str]) -> list[Analysis]:
    return [artifacts.load_analysis(Path(p)) for p in paths]
