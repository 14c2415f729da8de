"""The render job (one clip: layout, captions, video, thumbnail) and the report job."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from clipforge.analysis import captions
from clipforge.analysis import layout as layouts
from clipforge.analysis.camera import camera_path, face_presence, speech_spans
from clipforge.analysis.faces import main_face_track
from clipforge.domain import (
    Analysis,
    Candidate,
    Face,
    FaceSample,
    MediaInfo,
    Options,
    Region,
    RenderedClip,
)
from clipforge.jobs import steps
from clipforge.jobs.context import Run
from clipforge.media import ffmpeg
from clipforge.media.render import OUT_FPS, RenderSpec, render
from clipforge.sources import ingest
from clipforge.storage import artifacts
from clipforge.storage.models import JobRow

log = logging.getLogger("clipforge.render")


def clip_id(stream_key: str, cand: Candidate) -> str:
    return hashlib.sha1(f"{stream_key}:{cand.start:.3f}:{cand.end:.3f}".encode()).hexdigest()[:10]


def crop_size(info: MediaInfo) -> tuple[int, int]:
    """The largest 9:16 window that fits in the source frame."""
    height = info.height // 2 * 2
    width = int(height * 9 / 16) // 2 * 2
    return width, height


def plan_layout(run: Run, requested: str, analyses: list[Analysis], start: float,
                end: float, edited: dict[str, Any] | None = None
                ) -> tuple[str, dict[str, Any] | None]:
    """The clip's layout and, for `stacked`, its panes (in the stream's media pixels).

    The facecam is, in order: a person's edit of this clip, the streamer's fixed facecam
    setting, the overlay found in the analysed chunks the clip overlaps."""
    info = run.info
    near = [a for a in analyses if _overlaps(a, start, end)]
    faces = [f for a in near for f in a.faces]
    facecam = _facecam(run, near, start, end, edited)
    landscape = info.width * 16 > info.height * 9
    chosen = layouts.choose(requested, info.has_video, landscape, facecam,
                            face_presence(faces, start, end))
    if chosen != "stacked":
        return chosen, None
    if facecam is None:  # stacked asked for, no overlay: the main face and its shoulders
        face = _main_face(faces, start, end)
        if face is None:
            return "blur", None
        facecam = layouts.facecam_from_face(face.x, face.y, face.w, face.h, info.width,
                                            info.height)
    panes = layouts.stacked(facecam, info.width, info.height, _motion(near))
    if edited and edited.get("gameplay"):
        top = panes.top_height
        panes = replace(panes, gameplay=layouts.fit_aspect(
            Region(*edited["gameplay"]), layouts.OUT_W / (layouts.OUT_H - top),
            info.width, info.height))
    return "stacked", {**panes.to_json(), "edited": bool(edited)}


def _overlaps(analysis: Analysis, start: float, end: float) -> bool:
    if not analysis.faces:
        return False
    return analysis.faces[0].t <= end and analysis.faces[-1].t >= start


def _facecam(run: Run, near: list[Analysis], start: float, end: float,
             edited: dict[str, Any] | None) -> Region | None:
    if edited and edited.get("facecam"):
        return Region(*edited["facecam"])
    if run.options.facecam:
        return layouts.from_fractions(run.options.facecam, run.info.width, run.info.height)
    found = [a.facecam for a in near if a.facecam is not None]
    # The chunk that saw most of the clip decides; chunks that saw no overlay vote too.
    overlap = [min(end, a.faces[-1].t) - max(start, a.faces[0].t) for a in near]
    if not found or not near:
        return None
    best = near[int(np.argmax(overlap))]
    return best.facecam


def _motion(near: list[Analysis]) -> list[list[float]]:
    grids = [np.asarray(a.motion) for a in near if a.motion]
    return np.mean(grids, axis=0).tolist() if grids else []


def _main_face(faces: list[FaceSample], start: float, end: float) -> Face | None:
    track = [f for _, f in main_face_track([s for s in faces if start <= s.t <= end])
             if f is not None]
    if not track:
        return None
    return Face(x=float(np.median([f.x for f in track])),
                y=float(np.median([f.y for f in track])),
                w=float(np.median([f.w for f in track])),
                h=float(np.median([f.h for f in track])), score=1.0)


def caption_style(options: Options, clip_style: str | None) -> captions.CaptionStyle:
    """The clip's own preset, else the stream's (the streamer's default when it was
    submitted), with the streamer's size and colour over it."""
    return captions.style_for(clip_style or options.caption_style, options.caption_size,
                              options.caption_colour)


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
    got = ingest.download_section(run.source, run.work / "sections", (lo, hi),
                                  ingest.RENDER_FORMAT, ingest.limits_from(run.settings))
    if got.notice:  # said once per stream; meant for a stream.notice once a job can emit one
        log.warning("%s", got.notice)
    return ffmpeg.probe(got.path), got.offset


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
    scale = info.width / run.info.width if run.info.width else 1.0
    faces = _rescaled(faces, scale)
    layout = job.payload["rendered_layout"]
    regions = job.payload.get("regions") or {}
    words = [w for seg in steps.load_transcripts(job.payload["transcripts"]) for w in seg.words]
    if job.payload.get("captions_text") is not None:
        words = captions.retext(words, job.payload["captions_text"], start, end)
    style = captions.CaptionStyle(**job.payload.get("style", {}))
    style = captions.placed(style, regions.get("top_height", 0) if layout == "stacked" else 0)
    captions.write(ass, captions.build(words, start, end, style))
    crop_w, crop_h = crop_size(info)
    path = None
    if layout == "crop":
        cuts = [c for a in steps.load_analyses(job.payload["analyses"]) for c in a.cuts]
        path = camera_path(faces, info.width, info.height, crop_w, start, end, OUT_FPS,
                           job.payload.get("references"), cuts, speech_spans(words))
    render(RenderSpec(
        source=Path(info.path), start=start - offset, duration=end - start, layout=layout,
        out=mp4,
        captions=ass if opts.captions else None, crop_width=crop_w, crop_height=crop_h,
        crop_path=path, target_lufs=s.target_lufs, preset=s.x264_preset, crf=s.x264_crf,
        top_region=_pane(regions.get("facecam"), scale),
        bottom_region=_pane(regions.get("gameplay"), scale),
        top_height=int(regions.get("top_height", 0)),
    ))
    peak = min(max(clip.get("peak", start), start), end)
    ffmpeg.thumbnail(mp4, min(peak - start, end - start - 0.1), jpg)
    run.progress.advance("render", 1.0)
    return mp4


def _pane(box: list[float] | None, scale: float) -> tuple[float, float, float, float] | None:
    """A pane's region in the pixels of the file rendered from (a URL clip's full-quality
    section is larger than the analysed rendition)."""
    if box is None:
        return None
    x, y, w, h = (v * scale for v in box)
    return x, y, w, h


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
