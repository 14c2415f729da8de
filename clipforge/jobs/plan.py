"""The plan job: frame one clip before it is rendered. It analyses the clip frame by frame
(the chunks' scan saw keyframes only: enough to pick clips, not to frame them), reads
what the chunks heard, picks the layout (and the stacked panes), and fingerprints the
words, faces and reference faces the render is made of, so a render is reused while they
are the same, whatever else changed in the run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from clipforge.analysis import captions
from clipforge.analysis.analyze import analyze
from clipforge.analysis.camera import camera_path, speech_spans
from clipforge.analysis.faces import FaceDetector
from clipforge.analysis.framing import crop_size, plan_layout
from clipforge.config import Settings
from clipforge.domain import Analysis, Chunk, Options, Word
from clipforge.jobs import flow
from clipforge.jobs.analyze import recognition, recognition_settings
from clipforge.jobs.base import Finished, Result, keyed_if_set, spec, unkeyed
from clipforge.jobs.context import Run
from clipforge.jobs.render import ClipBounds, RenderInput
from clipforge.storage import artifacts, ledger
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow, StreamRow
from clipforge.storage.repository import reference_embeddings


@dataclass(frozen=True)
class PlanInput:
    clip: ClipBounds
    layout: str  # asked for: auto, crop, blur, stacked
    edited: dict[str, Any] | None  # a person's facecam and gameplay rectangles
    captions_text: str | None  # a person's caption text, as stored before per-word edits
    caption_edits: list[dict[str, Any]] | None  # a person's edits per heard word
    style: dict[str, Any]  # the caption style
    inputs: list[str]  # the keys of the transcribe and analyze jobs
    references: list[list[float]]  # the streamer's reference faces (the camera follows)
    aspect: str  # 9:16, 1:1 or 16:9
    vision: list[object]  # how the clip is analysed (vision_settings)
    transcripts: list[str] = unkeyed()
    # The clip's revision once a person changed it: an undo goes back to an earlier state,
    # whose jobs are done in this run already, and must be planned and rendered again.
    revision: int | None = keyed_if_set()


def caption_style(options: Options, clip_style: str | None) -> captions.CaptionStyle:
    """The clip's own preset, else the stream's (the streamer's default when it was
    submitted), with the streamer's size and colour over it."""
    return captions.style_for(clip_style or options.caption_style, options.caption_size,
                              options.caption_colour)


CLIP_MARGIN = 5.0  # s analysed either side of a clip: the camera settles, overlays show


def vision_settings(s: Settings) -> list[object]:
    return [s.analysis_fps, s.face_fps, s.analysis_width, *recognition_settings(s)]


def plan_specs(s: Session, run: Run, stream: StreamRow, clips: list[ClipRow]) -> list[JobSpec]:
    """A plan job for each clip (rows only: the files are read by the job)."""
    heard, seen = flow.results(s, stream, "transcribe"), flow.results(s, stream, "analyze")
    references = reference_embeddings(s, stream.streamer_id)
    specs = []
    for clip in clips:
        edited = clip.regions if clip.regions and clip.regions.get("edited") else None
        bounds = ClipBounds(clip.id, clip.start, clip.end, clip.peak, clip.title)
        specs.append(spec("plan", clip.id, PlanInput(
            clip=bounds, layout=clip.layout, edited=edited, captions_text=clip.captions,
            caption_edits=clip.caption_edits,
            style=asdict(caption_style(run.options, clip.caption_style)),
            inputs=[j.key for j in (*heard, *seen)], references=references,
            aspect=clip.aspect or run.options.aspect or "9:16",
            vision=vision_settings(run.settings), transcripts=[str(j.result) for j in heard],
            revision=clip.revision or None)))
    return specs


def run(run: Run, inp: PlanInput) -> Result:
    clip = inp.clip
    seen, seen_path = look(run, inp)
    analyses = [seen]
    layout, regions = plan_layout(inp.layout, run.info, run.options.facecam, analyses,
                                  clip.start, clip.end, inp.edited, inp.aspect,
                                  run.options.gameplay)
    heard = [w for seg in artifacts.load_transcripts(inp.transcripts) for w in seg.words]
    words = [w for w in heard if w.end > clip.start and w.start < clip.end]
    faces = [f for a in analyses for f in a.faces if clip.start - 1 <= f.t <= clip.end + 1]
    if layout == "crop" and regions is not None:
        regions["track"] = _crop_track(run, inp, analyses, heard)
    content = ledger.params_hash([artifacts.to_json(words), artifacts.to_json(faces),
                                  inp.references])
    path = run.artifact(".json")
    output = {"layout": layout, "regions": regions, "content": content,
              "vision": str(seen_path)}
    artifacts.write_json(path, output)
    run.progress.advance("plan", 1.0)
    return Result(path, output)


def look(run: Run, inp: PlanInput) -> tuple[Analysis, Path]:
    """The clip (and CLIP_MARGIN around it) analysed frame by frame: cuts to the frame,
    faces twice a second with their mouths' motion (and identities, when the streamer has
    a reference face), the facecam, where the picture moves. Written beside the plan:
    the render reads it."""
    fps, face_fps, width = (float(v) for v in inp.vision[:3])  # type: ignore[arg-type]
    start = max(0.0, inp.clip.start - CLIP_MARGIN)
    span = Chunk(index=0, start=start, end=min(run.info.duration, inp.clip.end + CLIP_MARGIN),
                 audio="")
    # Faces are embedded to be matched against the streamer's: with no reference face
    # there is nobody to match, and the embeddings (most of the analysis) would go unread.
    seen = analyze(run.info, span, FaceDetector(), fps, face_fps, int(width),
                   recognition=recognition(run) if inp.references else None)
    path = run.artifact(".vision.json")
    artifacts.write_json(path, artifacts.to_json(seen))
    return seen, path


def reads(run: Run, _inp: PlanInput) -> list[str]:
    return [run.info.path]


PREVIEW_FPS = 2.0  # crop window positions kept per second for the editor's preview


def _crop_track(run: Run, inp: PlanInput, analyses: list[Analysis],
                heard: list[Word]) -> list[list[float]]:
    """[t, x] of the crop window, twice a second: the editor's preview draws the crop
    where the render's camera (which moves every frame) will about be."""
    clip, info = inp.clip, run.info
    crop_w, _ = crop_size(info, inp.aspect)
    faces = [f for a in analyses for f in a.faces]
    cuts = [c for a in analyses for c in a.cuts]
    xs = camera_path(faces, info.width, info.height, crop_w, clip.start, clip.end,
                     PREVIEW_FPS, inp.references, cuts, speech_spans(heard))
    return [[round(clip.start + i / PREVIEW_FPS, 2), round(x, 1)] for i, x in enumerate(xs)]


def follow(done: Finished, inp: PlanInput) -> list[JobSpec]:
    """Render the clip as planned."""
    out, settings, opts = done.output, done.run.settings, done.run.options
    return [spec("render", inp.clip.id, RenderInput(
        clip=inp.clip, layout=out["layout"], regions=out["regions"], style=inp.style,
        captions_text=inp.captions_text, caption_edits=inp.caption_edits,
        captions=opts.captions, lufs=settings.target_lufs,
        preset=settings.x264_preset, crf=settings.x264_crf, out=str(opts.out_dir),
        content=out["content"], references=inp.references, aspect=inp.aspect,
        transcripts=inp.transcripts, analyses=[out["vision"]], revision=inp.revision))]
