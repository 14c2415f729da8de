"""The pipeline as a graph of jobs: which stage runs after which, fan-out and fan-in.

    ingest → chunk → (transcribe ∥ analyze) per chunk → score → render per clip → report

Each job's step (in `runtime/`) is a function over files; this module decides, in the
transaction that marks a job done, which jobs follow it. A job's key holds the keys of
the jobs it depends on, so a re-run with the same inputs reuses finished work and a change
redoes only what it touches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import domain
from clipforge.analysis import layout as layout_stage
from clipforge.config import Settings
from clipforge.domain import FaceSample, Word
from clipforge.jobs import publish as publishing
from clipforge.jobs import render as rendering
from clipforge.jobs import score as scoring
from clipforge.jobs import steps
from clipforge.jobs.context import Run
from clipforge.services import faces as vision
from clipforge.sources import ingest
from clipforge.storage import artifacts, ledger
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow, JobRow, StreamerRow, StreamRow, utcnow
from clipforge.storage.repository import save_chunks

LAYOUTS = layout_stage.LAYOUTS
CHUNK_STAGES = ("transcribe", "analyze")

STEPS: dict[str, Callable[[Run, JobRow], Path]] = {
    "ingest": steps.ingest,
    "chunk": steps.chunk,
    "transcribe": steps.transcribe_chunk,
    "analyze": steps.analyze_chunk,
    "score": scoring.score_stream,
    "render": rendering.render_clip,
    "report": rendering.write_report,
    "publish": publishing.publish_clip,  # detached: after approval, not part of a run
}

EVENTS = {
    "ingest": domain.STREAM_INGESTED,
    "chunk": domain.STREAM_CHUNKED,
    "transcribe": domain.CHUNK_TRANSCRIBED,
    "analyze": domain.CHUNK_ANALYZED,
    "score": domain.HIGHLIGHTS_SCORED,
    "render": domain.CLIP_RENDERED,
}


def first_job(source: str, settings: Settings) -> JobSpec:
    if not ingest.is_url(source):
        return JobSpec("ingest", "stream")
    # What is downloaded for analysis decides everything after it.
    fetched = "full" if settings.download_full else f"{settings.analysis_height}p"
    return JobSpec("ingest", "stream", {"download": fetched})


def units(spec: JobSpec) -> float:
    """How much work a job is, for progress: source seconds for chunk jobs, else one."""
    piece = spec.payload.get("chunk")
    return float(piece["end"] - piece["start"]) if piece else 1.0


def after(s: Session, run: Run, stream: StreamRow, job: JobRow) -> list[JobSpec]:
    """The jobs that follow a finished (or reused) one."""
    if job.stage == "ingest":
        use_downloaded(s, stream, run, job)
        return [chunk_job(run, job)]
    if job.stage == "chunk":
        return chunk_jobs(s, run, stream, job)
    if job.stage in CHUNK_STAGES:
        return [score_job(s, stream, run)] if ledger.pending(s, stream, CHUNK_STAGES) == 0 \
            else []
    if job.stage == "score":
        clips = keep_picks(s, run, stream, job)
        vision.auto_enrol(s, run.settings, stream)  # before the renders that follow it
        if not run.options.render:
            return [report_job(s, run, stream)]
        return render_jobs(s, run, stream, clips)
    if job.stage == "render":
        clip = s.get(ClipRow, job.target)
        if clip is not None:
            clip.file, clip.rendered_layout = job.result, job.payload["rendered_layout"]
            if job.payload.get("regions") or not (clip.regions or {}).get("edited"):
                clip.regions = job.payload.get("regions")  # a person's panes outlive a blur
            clip.status = "rendered" if clip.status == "candidate" else clip.status
        return [report_job(s, run, stream)] if ledger.pending(s, stream, ("render",)) == 0 \
            else []
    if job.stage == "report":
        stream.status = "done"
        ledger.emit(s, domain.STREAM_COMPLETED, stream.id, report=job.result,
                   clips=len(job.payload["clips"]))
    return []


def use_downloaded(s: Session, stream: StreamRow, run: Run, job: JobRow) -> None:
    """A URL stream's media is, from ingest on, the file ingest downloaded (and its chat
    replay the one that came with it, unless the user gave one)."""
    fetched = steps.load_fetched(run, job)
    if fetched is None:
        return
    info = fetched.info
    stream.info, stream.duration, run.info = asdict(info), info.duration, info
    if fetched.chat is not None and run.options.chat is None:
        run.options = replace(run.options, chat=fetched.chat)
        stream.options = run.options.to_json()
    if fetched.chat_error:
        ledger.emit(s, domain.STREAM_NOTICE, stream.id, message=fetched.chat_error)


def chunk_job(run: Run, ingest: JobRow) -> JobSpec:
    opts = run.options
    params = {"after": ingest.key, "seconds": run.settings.chunk_seconds,
              "full": opts.full_transcript, "top": opts.top, "max": opts.max_len,
              "weights": run.weights, "chat": scoring.score_params(run)["chat"],
              "lag": steps.known_chat_lag(run), "emotes": run.settings.emotes}
    return JobSpec("chunk", "stream", params, {"signals": ingest.result})


def chunk_jobs(s: Session, run: Run, stream: StreamRow, job: JobRow) -> list[JobSpec]:
    """Fan out: transcribe and analyze each chunk."""
    assert job.result is not None
    chunks, _, _ = steps.load_chunking(Path(job.result))
    save_chunks(s, stream.id, chunks)
    s_ = run.settings
    heard = {"model": s_.whisper_model, "language": s_.language}
    seen = {"fps": s_.analysis_fps, "face_fps": s_.face_fps, "width": s_.analysis_width,
            "faces": [s_.face_backend, s_.recognize_fps, s_.recognize_width]}
    specs = []
    for piece in chunks:
        payload = {"chunk": {"index": piece.index, "start": piece.start, "end": piece.end,
                             "audio": piece.audio}}
        span = f"{piece.start:010.3f}-{piece.end:010.3f}"
        specs.append(JobSpec("transcribe", span, heard, payload))
        specs.append(JobSpec("analyze", span, seen, payload))
    return specs


def results(s: Session, stream: StreamRow, stage: str) -> list[JobRow]:
    """The finished jobs of a stage in the stream's current run, in target order."""
    return list(s.scalars(select(JobRow).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run, JobRow.stage == stage,
        JobRow.status == "done").order_by(JobRow.target)))


def _one(s: Session, stream: StreamRow, stage: str) -> JobRow:
    found = results(s, stream, stage)
    assert len(found) == 1, f"one {stage} job per run, found {len(found)}"
    return found[0]


def score_job(s: Session, stream: StreamRow, run: Run) -> JobSpec:
    """Fan in: once every chunk is transcribed and analyzed."""
    chunking, signals = _one(s, stream, "chunk"), _one(s, stream, "ingest")
    heard, seen = results(s, stream, "transcribe"), results(s, stream, "analyze")
    params = {**scoring.score_params(run),
              "inputs": [j.key for j in (chunking, *heard, *seen)]}
    return JobSpec("score", "stream", params, {
        "chunking": chunking.result, "signals": signals.result,
        "transcripts": [j.result for j in heard], "analyses": [j.result for j in seen]})


def keep_picks(s: Session, run: Run, stream: StreamRow, job: JobRow) -> list[ClipRow]:
    """Store the picked clips; an edited or reviewed clip keeps what a person decided."""
    assert job.result is not None
    picks, lag, estimated = scoring.load_picks(Path(job.result))
    if run.options.chat is not None and estimated:
        stream.chat_lag = float(lag)
        if stream.streamer_id is not None:  # remember it for this streamer's short streams
            s.get_one(StreamerRow, stream.streamer_id).chat_lag = float(lag)
    existing = {c.id: c for c in s.scalars(select(ClipRow).where(
        ClipRow.stream_id == stream.id))}
    kept = []
    for cand in picks:
        cid = rendering.clip_id(stream.key, cand)
        row = existing.pop(cid, None)
        if row is None:
            row = ClipRow(id=cid, stream_id=stream.id, status="candidate", revision=0)
            s.add(row)
        if row.revision == 0:  # not edited by a person
            row.start, row.end, row.peak, row.title = cand.start, cand.end, cand.peak, \
                cand.title
            row.layout = run.options.layout
        row.rank, row.score, row.reasons, row.features = cand.rank, cand.score, \
            cand.reasons, cand.features
        kept.append(row)
    for stale in existing.values():  # candidates a re-run no longer picks
        if stale.status in ("candidate", "rendered"):
            s.delete(stale)
    s.flush()
    return kept


@dataclass(frozen=True)
class Seen:
    """What the stream's finished chunk jobs heard and saw: the inputs of every render,
    and the streamer's reference faces (whom the camera follows)."""

    transcripts: list[str]
    analyses: list[str]
    words: list[Word]
    faces: list[FaceSample]
    vision: list[domain.Analysis]
    references: list[list[float]]


def seen(s: Session, stream: StreamRow) -> Seen:
    transcripts = [str(j.result) for j in results(s, stream, "transcribe")]
    analyses = [str(j.result) for j in results(s, stream, "analyze")]
    loaded = steps.load_analyses(analyses)
    return Seen(transcripts, analyses,
                [w for seg in steps.load_transcripts(transcripts) for w in seg.words],
                [f for a in loaded for f in a.faces], loaded,
                vision.references(s, stream.streamer_id))


def render_jobs(s: Session, run: Run, stream: StreamRow, clips: list[ClipRow]) -> list[JobSpec]:
    inputs = seen(s, stream)  # read once for all the clips
    return [render_job(run, inputs, clip) for clip in clips]


def render_job(run: Run, inputs: Seen, clip: ClipRow) -> JobSpec:
    edited = clip.regions if clip.regions and clip.regions.get("edited") else None
    layout, regions = rendering.plan_layout(run, clip.layout, inputs.vision, clip.start,
                                            clip.end, edited)
    style = rendering.caption_style(run.options, clip.caption_style)
    described = {"id": clip.id, "start": clip.start, "end": clip.end, "peak": clip.peak,
                 "title": clip.title}
    # What the picture and captions are made of: a render is reused while they are the
    # same, whatever else changed in the run.
    words = [w for w in inputs.words if w.end > clip.start and w.start < clip.end]
    faces = [f for f in inputs.faces if clip.start - 1 <= f.t <= clip.end + 1]
    params = {**rendering.render_params(run, layout), "clip": described,
              "captions_text": clip.captions, "regions": regions, "style": asdict(style),
              "content": ledger.params_hash([artifacts.to_json(words), artifacts.to_json(faces),
                                            inputs.references])}
    return JobSpec("render", clip.id, params, {
        "clip": described, "rendered_layout": layout, "captions_text": clip.captions,
        "regions": regions, "style": asdict(style), "references": inputs.references,
        "transcripts": inputs.transcripts, "analyses": inputs.analyses})


def report_job(s: Session, run: Run, stream: StreamRow) -> JobSpec:
    score = _one(s, stream, "score")
    assert score.result is not None
    picks, _, _ = scoring.load_picks(Path(score.result))
    ids = [rendering.clip_id(stream.key, c) for c in picks]
    rows = {c.id: c for c in s.scalars(select(ClipRow).where(ClipRow.id.in_(ids)))}
    clips = [_listed(rows[i]) for i in ids if i in rows]
    renders = [j.key for j in results(s, stream, "render") if j.target in rows]
    timings = ledger.stage_seconds(s, stream)
    timings["total"] = round((utcnow() - _aware(stream.submitted_at)).total_seconds(), 3)
    params = {"inputs": [score.key, *sorted(renders)], "out": str(run.options.out_dir)}
    return JobSpec("report", "stream", params, {
        "clips": clips, "timings": timings,
        "transcripts": [j.result for j in results(s, stream, "transcribe")]})


def _listed(row: ClipRow) -> dict[str, Any]:
    return {"id": row.id, "rank": row.rank, "start": row.start, "end": row.end,
            "score": row.score, "reasons": row.reasons, "title": row.title,
            "layout": row.rendered_layout, "file": row.file}


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
