"""The ffmpeg command that renders one vertical clip.

Layouts: `crop` (a 9:16 window that moves along a precomputed camera path, fed to the
crop filter frame by frame with sendcmd), `blur` (the whole frame fitted over a blurred
copy of itself), `stacked` (the facecam region on top of a gameplay region, each cropped
to its pane's aspect and scaled to fill it), `waveform` (audio-only sources). Captions
are burned in with libass and loudness is normalised with loudnorm.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clipforge.media.ffmpeg import run, run_with_progress, source_input

OUT_W, OUT_H = 1080, 1920
OUT_FPS = 30
SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class RenderSpec:
    source: Path
    start: float
    duration: float
    layout: str  # crop | blur | stacked | waveform
    out: Path
    captions: Path | None = None  # .ass file in the same folder as `out`
    crop_width: int = 0
    crop_height: int = 0
    crop_path: list[float] | None = None  # left x per output frame, for `crop`
    # `stacked`: (x, y, w, h) source regions of the top and bottom panes, and the top
    # pane's height in output pixels; each region already has its pane's aspect.
    top_region: tuple[float, float, float, float] | None = None
    bottom_region: tuple[float, float, float, float] | None = None
    top_height: int = 0
    target_lufs: float = -14.0
    preset: str = "veryfast"
    crf: int = 21


def render(spec: RenderSpec, on_progress: Callable[[float], None] | None = None) -> None:
    """Render to a temp name in the output folder, then rename: never a half-written clip.
    ON_PROGRESS hears the share of the clip written so far."""
    folder = spec.out.parent
    tmp = spec.out.with_name(spec.out.stem + ".part.mp4")
    graph = _video_graph(spec, folder) + ";" + _audio_graph(spec)
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-ss", f"{spec.start:.3f}", "-t", f"{spec.duration:.3f}",
        *source_input(spec.source.resolve()),
    ]
    if spec.layout == "waveform":
        cmd += ["-f", "lavfi", "-i", f"color=c=0x14161c:s={OUT_W}x{OUT_H}:r={OUT_FPS}"]
    cmd += [
        "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
        "-t", f"{spec.duration:.3f}",
        "-c:v", "libx264", "-preset", spec.preset, "-crf", str(spec.crf),
        "-pix_fmt", "yuv420p", "-r", str(OUT_FPS),
        "-c:a", "aac", "-b:a", "160k", "-ar", "48000",
        "-movflags", "+faststart", tmp.name,
    ]
    # Run in the output folder so filter arguments hold only plain file names (no path
    # escaping inside filter graphs).
    if on_progress is None:
        run(cmd, f"rendering {spec.out.name}", cwd=folder)
    else:
        run_with_progress(cmd, f"rendering {spec.out.name}", spec.duration, on_progress,
                          cwd=folder)
    os.replace(tmp, spec.out)


def _local_name(path: Path, folder: Path) -> str:
    if path.parent.resolve() != folder.resolve() or not SAFE_NAME.match(path.name):
        raise ValueError(f"{path} must be a plain file name inside {folder}")
    return path.name


def _video_graph(spec: RenderSpec, folder: Path) -> str:
    if spec.layout == "crop":
        cmds = spec.out.with_name(spec.out.stem + ".camera.txt")
        _write_camera_commands(cmds, spec.crop_path or [0.0])
        x0 = int((spec.crop_path or [0.0])[0])
        chain = (f"[0:v]sendcmd=f={_local_name(cmds, folder)},"
                 f"crop@cam=w={spec.crop_width}:h={spec.crop_height}:x={x0}:y=0,"
                 f"scale={OUT_W}:{OUT_H}:flags=lanczos,setsar=1")
    elif spec.layout == "blur":
        chain = (f"[0:v]split[bgsrc][fgsrc];"
                 f"[bgsrc]scale={OUT_W // 4}:{OUT_H // 4}:force_original_aspect_ratio=increase,"
                 f"crop={OUT_W // 4}:{OUT_H // 4},boxblur=10:2,scale={OUT_W}:{OUT_H},"
                 f"eq=brightness=-0.08[bg];"
                 f"[fgsrc]scale={OUT_W}:-2[fg];[bg][fg]overlay=(W-w)/2:(H-h)/2,setsar=1")
    elif spec.layout == "stacked":
        chain = _stacked_graph(spec)
    elif spec.layout == "waveform":
        chain = (f"[0:a]showwaves=s={OUT_W}x480:mode=cline:colors=0x38bdf8:r={OUT_FPS}[wave];"
                 f"[1:v][wave]overlay=0:(H-h)/2-200")
    else:
        raise ValueError(f"unknown layout {spec.layout!r}")
    chain += f",fps={OUT_FPS}"
    if spec.captions is not None:
        chain += f",ass={_local_name(spec.captions, folder)}"
    return chain + ",format=yuv420p[v]"


def _stacked_graph(spec: RenderSpec) -> str:
    assert spec.top_region and spec.bottom_region and 0 < spec.top_height < OUT_H
    panes = []
    for label, region, height in (("top", spec.top_region, spec.top_height),
                                  ("bottom", spec.bottom_region, OUT_H - spec.top_height)):
        x, y, w, h = (int(round(v)) for v in region)
        panes.append(f"[{label}src]crop={w // 2 * 2}:{h // 2 * 2}:{x}:{y},"
                     f"scale={OUT_W}:{height}:flags=lanczos,setsar=1[{label}]")
    return (f"[0:v]split[topsrc][bottomsrc];{panes[0]};{panes[1]};"
            "[top][bottom]vstack=inputs=2,setsar=1")


def _audio_graph(spec: RenderSpec) -> str:
    return (f"[0:a]loudnorm=I={spec.target_lufs}:TP=-1.5:LRA=11,"
            "aresample=48000,aformat=channel_layouts=stereo[a]")


def _write_camera_commands(path: Path, xs: list[float]) -> None:
    """One crop command per output frame; times are from the clip start."""
    lines = [f"{i / OUT_FPS:.4f} crop@cam x {int(round(x))};" for i, x in enumerate(xs)]
    path.write_text("\n".join(lines) + "\n")


def caption_still(captions: Path, at: float, out: Path) -> None:
    """One frame of captions alone, over black, at `at` seconds: shows where a style puts
    its text (previews, and the check that captions keep off the facecam pane)."""
    folder = captions.parent
    run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=black:s={OUT_W}x{OUT_H}:r={OUT_FPS}:d={at + 1:.3f}",
         "-vf", f"ass={_local_name(captions, folder)}", "-ss", f"{at:.3f}",
         "-frames:v", "1", str(out.resolve())],
        f"drawing captions of {captions.name}", cwd=folder)
