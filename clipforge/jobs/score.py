"""The score job: fuse every signal over the stream and pick the clips. It starts once
every chunk is transcribed and analyzed (the fan-in); the picks become clip rows, then
the streamer's face is enrolled (if they gave none) and each clip planned and rendered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from clipforge import domain
from clipforge.analysis import cascade, languages, score
from clipforge.domain import Candidate, clip_id
from clipforge.jobs import flow
from clipforge.jobs.base import Finished, Result, keyed_if_set, spec, unkeyed
from clipforge.jobs.chat import chat_signal
from clipforge.jobs.chunk import load_chunking, load_signals
from clipforge.jobs.context import Run
from clipforge.jobs.enrol import enrol_or_plan
from clipforge.jobs.report import report_spec
from clipforge.storage import artifacts, ledger
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow, StreamerRow


@dataclass(frozen=True)
class ScoreInput:
    top: int
    min: float
    max: float
    chat: str | None  # the chat file's digest
    weights: dict[str, float]
    ranker: dict[str, Any] | None  # the streamer's learned preferences
    lexicon: list[str]  # the stream language's hype and laughter words
    emotes: list[str]
    inputs: list[str]  # the keys of the chunk, transcribe and analyze jobs
    chunking: str = unkeyed()
    signals: str = unkeyed()
    transcripts: list[str] = unkeyed()
    analyses: list[str] = unkeyed()
    setup: list[str] | None = keyed_if_set()  # the language's setup cues ("watch this")


def lexicon(run: Run, language: str) -> frozenset[str]:
    """The hype and laughter words of LANGUAGE (the `hype_words` setting's, if it has
    some for it)."""
    words = run.settings.hype_words.get(language)
    if words:
        return frozenset(w.lower() for w in words)
    found = languages.words_for(language)
    return found.hype | found.laughter


def after_chunk(done: Finished, _inp: object) -> list[JobSpec]:
    """Fan in: once every chunk is transcribed and analyzed, score."""
    if ledger.pending(done.s, done.stream, ("transcribe", "analyze")):
        return []
    s, stream, run = done.s, done.stream, done.run
    chunked, ingested = flow.one(s, stream, "chunk"), flow.one(s, stream, "ingest")
    heard, seen = flow.results(s, stream, "transcribe"), flow.results(s, stream, "analyze")
    opts, language = run.options, run.language
    assert chunked.result is not None and ingested.result is not None
    return [spec("score", "stream", ScoreInput(
        top=opts.top, min=opts.min_len, max=opts.max_len,
        chat=(ingested.output or {}).get("chat_digest"), weights=run.weights,
        ranker=run.ranker.to_json() if run.ranker else None,
        lexicon=sorted(lexicon(run, language)),
        setup=sorted(languages.words_for(language).setup), emotes=list(run.settings.emotes),
        inputs=[j.key for j in (chunked, *heard, *seen)],
        chunking=chunked.result, signals=ingested.result,
        transcripts=[str(j.result) for j in heard], analyses=[str(j.result) for j in seen]))]


def run(run: Run, inp: ScoreInput) -> Result:
    _, spans, lag = load_chunking(Path(inp.chunking))
    analyses = artifacts.load_analyses(inp.analyses)
    inputs = score.Inputs(
        seconds=run.seconds, audio=load_signals(Path(inp.signals)),
        segments=artifacts.load_transcripts(inp.transcripts),
        cuts=[c for a in analyses for c in a.cuts],
        faces=[f for a in analyses for f in a.faces], chat=chat_signal(run),
        chat_lag=lag, lexicon=frozenset(inp.lexicon),
        setup=frozenset(inp.setup or languages.WORDS["en"].setup),
    )
    # Peaks only where the transcript and vision ran, clear of the windows' edges.
    allowed = cascade.mask(spans, run.seconds, inset=inp.min / 2)
    picked, used_lag = score.pick(inputs, inp.top, inp.min, inp.max, inp.weights,
                                  allowed=allowed, rerank=run.ranker)
    path = run.artifact(".json")
    timeline = [round(float(v), 2) for v in score.curve(inputs, inp.weights)]
    picks = {"chat_lag": used_lag, "estimated": lag is None,
             "clips": artifacts.to_json(picked)}
    artifacts.write_json(path, {**picks, "curve": timeline})
    run.progress.advance("score", 1.0)
    return Result(path, picks)


def follow(done: Finished, _inp: ScoreInput) -> list[JobSpec]:
    """Keep the picks as clips; then enrol and render them (or report them only)."""
    clips = keep_picks(done)
    if not clips:
        why = nothing_picked(done)
        ledger.emit(done.s, domain.STREAM_NOTICE, done.stream.id, message=why)
        return [report_spec(done.s, done.run, done.stream, notice=why)]
    if len(clips) < done.run.options.top:
        ledger.emit(done.s, domain.STREAM_NOTICE, done.stream.id, message=fewer_than_asked(
            len(clips), done.run.options.top, done.stream.duration, done.run.options.min_len))
    if not done.run.options.render:
        return [report_spec(done.s, done.run, done.stream)]
    return enrol_or_plan(done, clips)


def fewer_than_asked(got: int, asked: int, duration: float, min_len: float) -> str:
    """Why a stream has fewer clips than asked for, in the user's words."""
    room = int(duration // min_len)
    if room < asked:
        why = (f"the {duration:.0f}-second recording has room for {room} clips of at least "
               f"{min_len:g} s that do not overlap")
    else:
        why = (f"only {got} moment{'s' if got != 1 else ''} rose above the rest of the "
               "stream; the others were no louder, livelier or busier in chat than usual")
    return f"Fewer clips than asked: {got} of {asked}, because {why}."


def nothing_picked(done: Finished) -> str:
    """Why a stream has no clip, in the user's words."""
    opts, length = done.run.options, done.stream.duration
    if length < opts.min_len:
        return (f"0 clips: the recording lasts {length:.1f} s, shorter than the shortest "
                f"clip asked for ({opts.min_len:g} s)")
    return ("0 clips: nothing stood out (no moment rose above the rest of the stream in "
            "loudness, speech, chat or action)")


def keep_picks(done: Finished) -> list[ClipRow]:
    """Store the picked clips; an edited or reviewed clip keeps what a person decided."""
    s, stream, run, out = done.s, done.stream, done.run, done.output
    if run.options.chat is not None and out.get("estimated"):
        stream.chat_lag = float(out["chat_lag"])
        if stream.streamer_id is not None:  # remember it for this streamer's short streams
            s.get_one(StreamerRow, stream.streamer_id).chat_lag = float(out["chat_lag"])
    existing = {c.id: c for c in s.scalars(select(ClipRow).where(
        ClipRow.stream_id == stream.id))}
    kept = []
    for cand in flow.picks(out):
        row = existing.pop(clip_id(stream.key, cand), None) or _new_clip(done, cand)
        if row.revision == 0:  # not edited by a person
            row.start, row.end, row.peak, row.title = cand.start, cand.end, cand.peak, \
                cand.title
            row.layout = run.options.layout
        row.rank, row.score, row.reasons, row.features = cand.rank, cand.score, \
            cand.reasons, cand.features
        kept.append(row)
    made = {c.id for c in flow.made_clips(s, stream)}  # a person's: never dropped
    for stale in existing.values():  # candidates a re-run no longer picks
        if stale.status in ("candidate", "rendered") and stale.id not in made:
            s.delete(stale)
    s.flush()
    return kept


def _new_clip(done: Finished, cand: Candidate) -> ClipRow:
    row = ClipRow(id=clip_id(done.stream.key, cand), stream_id=done.stream.id,
                  status="candidate", revision=0)
    done.s.add(row)
    return row

