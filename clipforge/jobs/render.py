"""The render job: one clip's captions, video (9:16, 1:1 or 16:9, in its layout) and
thumbnail."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipforge import domain
from clipforge.analysis import caption_place, captions, layout, subtitles, word_edits
from clipforge.analysis.camera import camera_path, pane_path, speech_spans
from clipforge.analysis.framing import crop_size
from clipforge.analysis.layout import DEFAULT_ASPECT
from clipforge.domain import Face, FaceSample, MediaInfo, Word
from clipforge.jobs.base import Finished, Result, keyed_if_set, unkeyed
from clipforge.jobs.context import Run
from clipforge.jobs.report import clip_files, report_spec
from clipforge.media import ffmpeg
from clipforge.media.render import OUT_FPS, RenderSpec, render
from clipforge.sources import ingest
from clipforge.storage import artifacts, ledger
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow


@dataclass(frozen=True)
class ClipBounds:
    id: str
    start: float
    end: float
    peak: float
    title: str


@dataclass(frozen=True)
class RenderInput:
    clip: ClipBounds
    layout: str  # as planned: crop, blur, stacked or waveform
    regions: dict[str, Any] | None  # the stacked layout's panes
    style: dict[str, Any]  # the caption style
    captions_text: str | None  # a person's caption text, as stored before per-word edits
    caption_edits: list[dict[str, Any]] | None  # a person's edits per heard word
    captions: bool  # burn captions in
    lufs: float
    preset: str
    crf: int
    out: str  # the output folder
    content: str  # the fingerprint of the words, faces and references it is made of
    references: list[list[float]] = unkeyed()
    transcripts: list[str] = unkeyed()
    analyses: list[str] = unkeyed()
    aspect: str = DEFAULT_ASPECT  # 9:16, 1:1 or 16:9
    revision: int | None = keyed_if_set()  # as the plan's (jobs/plan.py)


SECTION_PAD = 2.0  # seconds fetched either side of a clip, for the encoder's seek


def clip_source(run: Run, start: float, end: float) -> tuple[MediaInfo, float, str | None]:
    """What a clip is rendered from, where that file starts in the stream, and what the
    user should know about it: the stream's file; for a URL stream, the clip's time range
    fetched in full quality (once; a re-run reuses it), unless everything was downloaded
    in full quality already (or the server cannot send a range: then the whole file)."""
    if not ingest.is_url(run.source) or run.settings.download_full:
        return run.info, 0.0, None
    lo, hi = max(0.0, start - SECTION_PAD), min(run.info.duration, end + SECTION_PAD)
    got = ingest.download_section(run.source, run.work / "sections", (lo, hi),
                                  ingest.RENDER_FORMAT, ingest.limits_from(run.settings))
    return ffmpeg.probe(got.path), got.offset, got.notice


def _rescaled(faces: list[FaceSample], scale: float) -> list[FaceSample]:
    """Face boxes found on the analysis rendition, in the pixels of a larger one."""
    if scale == 1.0:
        return faces
    return [FaceSample(t=f.t, faces=[Face(x=b.x * scale, y=b.y * scale, w=b.w * scale,
                                          h=b.h * scale, score=b.score) for b in f.faces])
            for f in faces]


def run(run: Run, inp: RenderInput) -> Result:
    """Render one clip as planned (bounds, title, layout, edits)."""
    clip, start, end = inp.clip, inp.clip.start, inp.clip.end
    mp4, ass, jpg = clip_files(run.options.out_dir, clip.id)
    mp4.parent.mkdir(parents=True, exist_ok=True)
    info, offset, notice = clip_source(run, start, end)
    for stale in mp4.parent.glob(f"{clip.id}*.part*"):  # left by a killed attempt
        stale.unlink()
    analyses = artifacts.load_analyses(inp.analyses)
    scale = info.width / run.info.width if run.info.width else 1.0
    faces = _rescaled([f for a in analyses for f in a.faces], scale)
    regions = inp.regions or {}
    heard = [w for seg in artifacts.load_transcripts(inp.transcripts) for w in seg.words]
    words = shown_words(heard, inp, start, end)
    out_w, out_h = layout.out_size(inp.aspect)
    crop_w, crop_h = crop_size(info, inp.aspect)
    style = caption_style_for(inp, regions, scale, (info.width, info.height), crop_h)
    captions.write(ass, captions.build(words, start, end, style, run.language))
    write_subtitles(ass, subtitles.cues(words, start, end, style))
    path = top_path = None
    if inp.layout == "crop":
        cuts = [c for a in analyses for c in a.cuts]
        path = camera_path(faces, info.width, info.height, crop_w, start, end, OUT_FPS,
                           inp.references, cuts, speech_spans(heard))
    if inp.layout == "stacked" and regions.get("track"):
        _, _, w, h = regions["facecam"]
        top_path = pane_path([[t, x * scale, y * scale] for t, x, y in regions["track"]],
                             start, end, OUT_FPS, info.width, info.height, w * scale,
                             h * scale)
    progress = _ClipProgress(run, clip.id)
    render(RenderSpec(
        source=Path(info.path), start=start - offset, duration=end - start,
        layout=inp.layout, out=mp4, captions=ass if inp.captions else None,
        crop_width=crop_w, crop_height=crop_h, crop_path=path, target_lufs=inp.lufs,
        preset=inp.preset, crf=inp.crf, top_region=_pane(regions.get("facecam"), scale),
        bottom_region=_pane(regions.get("gameplay"), scale),
        top_height=int(regions.get("top_height", 0)), top_path=top_path,
        cover=_pane(regions.get("cover"), scale), out_w=out_w, out_h=out_h,
    ), progress)
    peak = min(max(clip.peak, start), end)
    ffmpeg.thumbnail(mp4, min(peak - start, end - start - 0.1), jpg)
    progress(1.0)
    return Result(mp4, {"notice": notice} if notice else None)


def caption_style_for(inp: RenderInput, regions: dict[str, Any], scale: float,
                      src: tuple[int, int], crop_h: int) -> captions.CaptionStyle:
    """The clip's caption style at its output size: below the facecam pane (stacked),
    off the speaker's face (crop, blur)."""
    out_w, out_h = layout.out_size(inp.aspect)
    style = caption_place.framed(captions.CaptionStyle(**inp.style), out_w, out_h)
    if inp.layout == "stacked":
        return captions.placed(style, int(regions.get("top_height", 0)))
    if regions.get("face"):
        face = caption_place.face_in_output([v * scale for v in regions["face"]], inp.layout,
                                            src[0], src[1], crop_h, out_w, out_h)
        if face is not None:
            return caption_place.clear_of_face(style, *face)
    return style


class _ClipProgress:
    """A clip's render progress: its share of the stage's bar, and its own fraction with
    the time left at the pace so far (the stream page shows both)."""

    def __init__(self, run: Run, clip_id: str) -> None:
        self.run, self.clip_id = run, clip_id
        self.began, self.fraction = time.monotonic(), 0.0

    def __call__(self, fraction: float) -> None:
        if fraction <= self.fraction:
            return
        self.run.progress.advance("render", fraction - self.fraction)
        self.fraction = fraction
        spent = time.monotonic() - self.began
        left = spent / fraction * (1 - fraction) if fraction >= 0.02 else None
        self.run.progress.item("render", self.clip_id, fraction, left)


def shown_words(heard: list[Word], inp: RenderInput, start: float,
                end: float) -> list[Word]:
    """What the captions say, each word at its own time: the stream's words with a
    person's edits (older clips: their edited text, aligned with what was heard)."""
    if inp.caption_edits:
        return word_edits.apply_edits(heard, inp.caption_edits)
    if inp.captions_text is not None:
        return captions.retext(heard, inp.captions_text, start, end)
    return heard


def write_subtitles(ass: Path, found: list[subtitles.Cue]) -> None:
    """The captions as SRT and WebVTT next to the burned-in ones (ID.srt, ID.vtt)."""
    for suffix, text in ((".srt", subtitles.srt(found)), (".vtt", subtitles.vtt(found))):
        artifacts.write_text(ass.with_suffix(suffix), text)


def _pane(box: list[float] | None, scale: float) -> tuple[float, float, float, float] | None:
    """A pane's region in the pixels of the file rendered from (a URL clip's full-quality
    section is larger than the analysed rendition)."""
    if box is None:
        return None
    x, y, w, h = (v * scale for v in box)
    return x, y, w, h


def reads(run: Run, _inp: RenderInput) -> list[str]:
    return [run.info.path]


def follow(done: Finished, inp: RenderInput) -> list[JobSpec]:
    """The clip is rendered; when the stream's last clip is, report."""
    clip = done.s.get(ClipRow, inp.clip.id)
    if clip is not None:
        clip.file, clip.rendered_layout = done.job.result, inp.layout
        if inp.regions or not (clip.regions or {}).get("edited"):
            clip.regions = inp.regions  # a person's panes outlive a blur
        clip.status = "rendered" if clip.status == "candidate" else clip.status
    if done.output.get("notice"):
        ledger.emit(done.s, domain.STREAM_NOTICE, done.stream.id,
                    message=done.output["notice"])
    if ledger.pending(done.s, done.stream, ("plan", "render")):
        return []
    return [report_spec(done.s, done.run, done.stream)]
