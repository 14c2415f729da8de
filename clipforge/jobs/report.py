"""The report job: report.json, the stream's clips best first with their reasons, the
transcript and the timings. It ends the stream's run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from clipforge import domain
from clipforge.domain import RenderedClip
from clipforge.jobs import flow
from clipforge.jobs.base import Finished, Result, spec, unkeyed
from clipforge.jobs.context import Run
from clipforge.sources import ingest
from clipforge.storage import artifacts, ledger
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow, StreamRow, utcnow


@dataclass(frozen=True)
class ReportInput:
    inputs: list[str]  # the keys of the score and render jobs
    out: str  # the output folder
    notice: str | None  # why there is no clip
    clips: list[dict[str, Any]] = unkeyed()
    timings: dict[str, float] = unkeyed()
    transcripts: list[str] = unkeyed()


def report_spec(s: Session, run: Run, stream: StreamRow, notice: str | None = None
                ) -> JobSpec:
    scored = flow.one(s, stream, "score")
    clips = [*flow.picked_clips(s, stream), *flow.made_clips(s, stream)]
    rendered = {c.id for c in clips}
    renders = [j.key for j in flow.results(s, stream, "render") if j.target in rendered]
    timings = ledger.stage_seconds(s, stream)
    timings["total"] = round((utcnow() - stream.submitted_at).total_seconds(), 3)
    return spec("report", "stream", ReportInput(
        inputs=[scored.key, *sorted(renders)], out=str(run.options.out_dir), notice=notice,
        clips=[_listed(c) for c in clips], timings=timings,
        transcripts=[str(j.result) for j in flow.results(s, stream, "transcribe")]))


def _listed(row: ClipRow) -> dict[str, Any]:
    return {"id": row.id, "rank": row.rank, "start": row.start, "end": row.end,
            "score": row.score, "reasons": row.reasons, "title": row.title,
            "layout": row.rendered_layout, "file": row.file}


def run(run: Run, inp: ReportInput) -> Result:
    clips = [listed(run, row) for row in inp.clips]
    segments = artifacts.load_transcripts(inp.transcripts)
    report: dict[str, Any] = {
        "stream": {"source": run.source if ingest.is_url(run.source) else run.info.path,
                   "duration": round(run.info.duration, 3), "language": run.language},
        "clips": [asdict(c) for c in clips],
        "transcript": [asdict(s) for s in segments],
        "timings": inp.timings,
    }
    if inp.notice:
        report["notice"] = inp.notice
    run.options.out_dir.mkdir(parents=True, exist_ok=True)
    path = run.options.out_dir / "report.json"
    artifacts.write_json(path, report)
    run.progress.advance("report", 1.0)
    return Result(path, {"clips": len(clips)})


def clip_files(out_dir: Path, cid: str) -> tuple[Path, Path, Path]:
    """A clip's video, captions and thumbnail in the output folder."""
    folder = out_dir / "clips"
    return folder / f"{cid}.mp4", folder / f"{cid}.ass", folder / f"{cid}.jpg"


def listed(run: Run, row: dict[str, Any]) -> RenderedClip:
    """A clip as report.json lists it; file names are relative to the output folder."""
    out = run.options.out_dir
    mp4, ass, jpg = clip_files(out, row["id"])
    rendered = bool(row.get("file"))
    return RenderedClip(
        id=row["id"], rank=row["rank"], start=row["start"], end=row["end"],
        score=row["score"], reasons=row["reasons"], title=row["title"],
        layout=row["layout"] if rendered else "",
        file=str(mp4.relative_to(out)) if rendered else "",
        captions=str(ass.relative_to(out)) if rendered else "",
        thumbnail=str(jpg.relative_to(out)) if rendered else "",
    )


def follow(done: Finished, _inp: ReportInput) -> list[JobSpec]:
    """The stream is done."""
    done.stream.status = "done"
    ledger.emit(done.s, domain.STREAM_COMPLETED, done.stream.id, report=done.job.result,
                clips=done.output.get("clips", 0))
    return []
