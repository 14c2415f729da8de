"""Render one picked clip: choose its layout, write captions, render, thumbnail."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from clipforge.domain import Candidate, FaceSample, MediaInfo, RenderedClip, Segment
from clipforge.media import ffmpeg
from clipforge.media.render import OUT_FPS, RenderSpec, render
from clipforge.stages import captions
from clipforge.stages.camera import camera_path, face_presence

if TYPE_CHECKING:
    from clipforge.pipeline import Run

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


def render_clip(run: Run, cand: Candidate, segments: list[Segment],
                faces: list[FaceSample]) -> RenderedClip:
    info, opts, s = run.info, run.options, run.settings
    cid = clip_id(run.ledger.stream_key, cand)
    folder = opts.out_dir / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    mp4, ass, jpg = (folder / f"{cid}{ext}" for ext in (".mp4", ".ass", ".jpg"))
    layout = choose_layout(info, opts.layout, faces, cand.start, cand.end)

    def produce() -> None:
        words = [w for seg in segments for w in seg.words]
        captions.write(ass, captions.build(words, cand.start, cand.end))
        crop_w, crop_h = crop_size(info)
        path = None
        if layout == "crop":
            path = camera_path(faces, info.width, info.height, crop_w, cand.start, cand.end,
                               OUT_FPS)
        render(RenderSpec(
            source=Path(info.path), start=cand.start, duration=cand.end - cand.start,
            layout=layout, out=mp4, captions=ass if opts.captions else None,
            crop_width=crop_w, crop_height=crop_h, crop_path=path,
            target_lufs=s.target_lufs, preset=s.x264_preset, crf=s.x264_crf,
        ))
        ffmpeg.thumbnail(mp4, min(cand.peak - cand.start, cand.end - cand.start - 0.1), jpg)

    params = {"layout": layout, "captions": opts.captions, "lufs": s.target_lufs,
              "preset": s.x264_preset, "crf": s.x264_crf, "out": str(mp4.resolve())}
    run.ledger.run("render", cid, mp4, produce, params)
    run.ledger.repo.upsert_clip(cid, run.ledger.stream_id, cand, layout, "rendered", str(mp4))
    run.progress.advance("render", 1)
    return RenderedClip(
        id=cid, rank=cand.rank, start=cand.start, end=cand.end, score=cand.score,
        reasons=cand.reasons, title=cand.title, layout=layout,
        file=_rel(mp4, opts.out_dir), captions=_rel(ass, opts.out_dir),
        thumbnail=_rel(jpg, opts.out_dir),
    )


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def listed_clip(run: Run, cand: Candidate) -> RenderedClip:
    """A picked moment reported without rendering it (`render=False`): no files."""
    cid = clip_id(run.ledger.stream_key, cand)
    run.ledger.repo.upsert_clip(cid, run.ledger.stream_id, cand, "", "candidate", None)
    return RenderedClip(id=cid, rank=cand.rank, start=cand.start, end=cand.end,
                        score=cand.score, reasons=cand.reasons, title=cand.title, layout="",
                        file="", captions="", thumbnail="")
