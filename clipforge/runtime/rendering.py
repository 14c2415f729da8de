"""The render job (one clip: layout, captions, video, thumbnail) and the report job."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from clipforge.domain import Candidate, Face, FaceSample, MediaInfo, RenderedClip
from clipforge.media import ffmpeg
from clipforge.media.render import OUT_FPS, RenderSpec, render
from clipforge.runtime import artifacts, steps
from clipforge.runtime.context import Run
from clipforge.stages import captions, ingest
from clipforge.stages.camera import camera_path, face_presence
from clipforge.storage.models import JobRow

FACE_SHARE_FOR_CROP = 0.6  # `auto` crops on the face when it is seen this much of the clip


def clip_id(stream_key: str, cand: Candidate) -> str:
    return hashlib.sha1(f"{stream_key}:{cand.start:.3f}:{cand.end:.3f}".encode()).hexdigest()[:10]


def crop_size(info: MediaInfo) -> tuple[int, int]:
    """The largest 9:16 window that fits in the source frame."""
    height = info.height // 2 * 2
    width = int(height * 9 / 16) // 2 * 2
    return width, height


def choose_layout(info: MediaInfo, requested: str, faces: list[FaceSample],
                  start: float, end: float) -> str:
    if not info.has_video:
        return "waveform"
    landscape = info.width * 16 > info.height * 9
    if requested == "crop":
        return "crop" if landscape else "blur"
    if requested == "blur":
        return "blur"
    seen = face_presence(faces, start, end)
    return "crop" if landscape and seen >= FACE_SHARE_FOR_CROP else "blur"


def clip_files(run: Run, cid: str) -> tuple[Path, Path, Path]:
    folder = run.options.out_dir / "clips"
    return folder / f"{cid}.mp4", folder / f"{cid}.ass", folder / f"{cid}.jpg"


SECTION_PAD = 2.0  # seconds fetched either side of a clip, for the encoder's seek


def clip_source(run: Run, start: float, end: float) -> tuple[MediaInfo, float]:
    """What a clip is rendered from, and where that file starts in the stream: the
    stream's file; for a URL stream, the clip's time range fetched in full quality (once;
    a re-run reuses it), unless everything was downloaded in full quality already."""
    if not ingest.is_url(run.source) or run.settings.download_full:
        return run.info, 0.0
    lo, hi = max(0.0, start - SECTION_PAD), min(run.info.duration, end + SECTION_PAD)
    path = ingest.download(run.source, run.work / "sections", f"hd-{lo:09.3f}-{hi:09.3f}",
                           ingest.RENDER_FORMAT, steps.ingest_limits(run.settings),
                           section=(lo, hi))
    return ffmpeg.probe(path), lo


def _rescaled(faces: list[FaceSample], scale: float) -> list[FaceSample]:
    """Face boxes found on the analysis rendition, in the pixels of a larger one."""
    if scale == 1.0:
        return faces
    return [FaceSample(t=f.t, faces=[Face(x=b.x * scale, y=b.y * scale, w=b.w * scale,
                                          h=b.h * scale, score=b.score) for b in f.faces])
            for f in faces]


def render_clip(run: Run, job: JobRow) -> Path:
    """Render one clip as the job's payload describes it (bounds, title, edits)."""
    opts, s, clip = run.options, run.settings, job.payload["clip"]
    start, end = clip["start"], clip["end"]
    mp4, ass, jpg = clip_files(run, job.target)
    mp4.parent.mkdir(parents=True, exist_ok=True)
    info, offset = clip_source(run, start, end)
    for stale in mp4.parent.glob(f"{job.target}*.part*"):  # left by a killed attempt
        stale.unlink()
    faces = [f for a in steps.load_analyses(job.payload["analyses"]) for f in a.faces]
    faces = _rescaled(faces, info.width / run.info.width if run.info.width else 1.0)
    layout = job.payload["rendered_layout"]
    words = [w for seg in steps.load_transcripts(job.payload["transcripts"]) for w in seg.words]
    if job.payload.get("captions_text") is not None:
        words = captions.retext(words, job.payload["captions_text"], start, end)
    captions.write(ass, captions.build(words, start, end))
    crop_w, crop_h = crop_size(info)
    path = camera_path(faces, info.width, info.height, crop_w, start, end, OUT_FPS) \
        if layout == "crop" else None
    render(RenderSpec(
        source=Path(info.path), start=start - offset, duration=end - start, layout=layout,
        out=mp4,
        captions=ass if opts.captions else None, crop_width=crop_w, crop_height=crop_h,
        crop_path=path, target_lufs=s.target_lufs, preset=s.x264_preset, crf=s.x264_crf,
    ))
    peak = min(max(clip.get("peak", start), start), end)
    ffmpeg.thumbnail(mp4, min(peak - start, end - start - 0.1), jpg)
    run.progress.advance("render", 1.0)
    return mp4


def render_params(run: Run, layout: str) -> dict[str, Any]:
    s = run.settings
    return {"layout": layout, "captions": run.options.captions, "lufs": s.target_lufs,
            "preset": s.x264_preset, "crf": s.x264_crf, "out": str(run.options.out_dir)}


def listed(run: Run, row: dict[str, Any]) -> RenderedClip:
    """A clip as report.json lists it; file names are relative to the output folder."""
    mp4, ass, jpg = clip_files(run, row["id"])
    rendered = bool(row.get("file"))
    return RenderedClip(
        id=row["id"], rank=row["rank"], start=row["start"], end=row["end"],
        score=row["score"], reasons=row["reasons"], title=row["title"],
        layout=row["layout"] if rendered else "",
        file=_rel(mp4, run.options.out_dir) if rendered else "",
        captions=_rel(ass, run.options.out_dir) if rendered else "",
        thumbnail=_rel(jpg, run.options.out_dir) if rendered else "",
    )


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def write_report(run: Run, job: JobRow) -> Path:
    """report.json: the stream, its clips best first, the transcript and the timings."""
    clips = [listed(run, row) for row in job.payload["clips"]]
    segments = steps.load_transcripts(job.payload["transcripts"])
    report = {
        "stream": {"source": run.source if ingest.is_url(run.source) else run.info.path,
                   "duration": round(run.info.duration, 3)},
        "clips": [asdict(c) for c in clips],
        "transcript": [asdict(s) for s in segments],
        "timings": job.payload["timings"],
    }
    run.options.out_dir.mkdir(parents=True, exist_ok=True)
    path = run.options.out_dir / "report.json"
    artifacts.write_json(path, report)
    run.progress.advance("report", 1.0)
    return path
