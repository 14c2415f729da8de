"""The ffmpeg command that renders one clip (1080x1920 by default; 1080x1080 or
1920x1080 for the other aspect ratios).

Layouts: `crop` (a window of the output's aspect that moves along a precomputed camera
path, fed to the crop filter frame by frame with sendcmd), `blur` (the whole frame fitted
over a blurred copy of itself), `stacked` (the facecam region on top of a gameplay
region, each cropped to its pane's aspect and scaled to fill it; a drifting facecam's
window moves along its own path, and a part of the gameplay the facecam passes through
can be covered), `waveform` (audio-only sources). Captions are burned in with libass.

Loudness: the clip's audio is measured first (ebur128: integrated loudness and true peak,
a fraction of a second), then the render applies the gain to the target with a limiter
under the peak ceiling. loudnorm did both in the render, but its dynamic mode works at
192 kHz and holds about 57 MB per channel: two renders side by side on a 4-hour 1080p60
stream put the run over its memory budget.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clipforge import errors
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
    top_path: list[tuple[float, float]] | None = None  # the top pane's (x, y) per frame
    cover: tuple[float, float, float, float] | None = None  # source region to cover
    out_w: int = OUT_W
    out_h: int = OUT_H
    target_lufs: float = -14.0
    preset: str = "ultrafast"
    crf: int = 22


def render(spec: RenderSpec, on_progress: Callable[[float], None] | None = None) -> None:
    """Render to a temp name in the output folder, then rename: never a half-written clip.
    ON_PROGRESS hears the share of the clip written so far."""
    folder = spec.out.parent
    tmp = spec.out.with_name(spec.out.stem + ".part.mp4")
    graph = _video_graph(spec, folder) + ";" + _audio_graph(spec, _gain_db(spec))
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-ss", f"{spec.start:.3f}", "-t", f"{spec.duration:.3f}",
        *source_input(spec.source.resolve()),
    ]
    if spec.layout == "waveform":
        cmd += ["-f", "lavfi", "-i", f"color=c=0x14161c:s={spec.out_w}x{spec.out_h}:r={OUT_FPS}"]
    cmd += [
        "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
        "-t", f"{spec.duration:.3f}",
        "-c:v", "libx264", "-preset", spec.preset, "-crf", str(spec.crf),
        # ultrafast turns CABAC off: on again, files are 30% smaller for 5% more time (other
        # presets have it on already).
        "-x264-params", "cabac=1",
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
    out_w, out_h = spec.out_w, spec.out_h
    # Frames dropped to the output rate first: a 60 fps source is cropped and scaled at
    # half the cost, for the same output.
    src = f"[0:v]fps={OUT_FPS},"
    if spec.layout == "crop":
        cmds = spec.out.with_name(spec.out.stem + ".camera.txt")
        _write_camera_commands(cmds, [(x, 0.0) for x in spec.crop_path or [0.0]], "cam")
        x0 = int((spec.crop_path or [0.0])[0])
        chain = (f"{src}sendcmd=f={_local_name(cmds, folder)},"
                 f"crop@cam=w={spec.crop_width}:h={spec.crop_height}:x={x0}:y=0,"
                 f"scale={out_w}:{out_h}:flags=lanczos,setsar=1")
    elif spec.layout == "blur":
        chain = (f"{src}split[bgsrc][fgsrc];"
                 f"[bgsrc]scale={out_w // 4}:{out_h // 4}:force_original_aspect_ratio=increase,"
                 f"crop={out_w // 4}:{out_h // 4},boxblur=10:2,scale={out_w}:{out_h},"
                 f"eq=brightness=-0.08[bg];"
                 f"[fgsrc]scale={out_w}:{out_h}:force_original_aspect_ratio=decrease:"
                 f"force_divisible_by=2[fg];[bg][fg]overlay=(W-w)/2:(H-h)/2,setsar=1")
    elif spec.layout == "stacked":
        chain = _stacked_graph(spec, folder, src)
    elif spec.layout == "waveform":
        chain = (f"[0:a]showwaves=s={out_w}x480:mode=cline:colors=0x38bdf8:r={OUT_FPS}[wave];"
                 f"[1:v][wave]overlay=0:(H-h)/2-{200 * out_h // OUT_H},fps={OUT_FPS}")
    else:
        raise ValueError(f"unknown layout {spec.layout!r}")
    if spec.captions is not None:
        chain += f",ass={_local_name(spec.captions, folder)}"
    return chain + ",format=yuv420p[v]"


def _stacked_graph(spec: RenderSpec, folder: Path, src: str) -> str:
    assert spec.top_region and spec.bottom_region and 0 < spec.top_height < spec.out_h
    panes = []
    for label, region, height in (("top", spec.top_region, spec.top_height),
                                  ("bottom", spec.bottom_region, spec.out_h - spec.top_height)):
        x, y, w, h = (int(round(v)) for v in region)
        head = f"[{label}src]"
        if label == "top" and spec.top_path:
            cmds = spec.out.with_name(spec.out.stem + ".facecam.txt")
            _write_camera_commands(cmds, spec.top_path, "top")
            x, y = (int(round(v)) for v in spec.top_path[0])
            head += f"sendcmd=f={_local_name(cmds, folder)},"
        crop = f"crop@{label}={w // 2 * 2}:{h // 2 * 2}:{x}:{y},"
        if label == "bottom" and spec.cover:
            cx, cy, cw, ch = (int(round(v)) for v in spec.cover)
            crop += f"drawbox=x={cx - x}:y={cy - y}:w={cw}:h={ch}:color=0x14161c:t=fill,"
        panes.append(f"{head}{crop}scale={spec.out_w}:{height}:flags=lanczos,setsar=1[{label}]")
    return (f"{src}split[topsrc][bottomsrc];{panes[0]};{panes[1]};"
            "[top][bottom]vstack=inputs=2,setsar=1")


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS; -70 when the whole span is below the gate (silence)
    true_peak: float  # dBTP


def measure_loudness(source: Path, start: float, duration: float) -> Loudness:
    """EBU R128 integrated loudness and true peak of SOURCE's audio from START (the
    per-frame lines go to the verbose level, the summary to info)."""
    proc = run(["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
                "-ss", f"{start:.3f}", "-t", f"{duration:.3f}",
                *source_input(source.resolve()), "-vn", "-sn", "-dn",
                "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
               f"measuring the loudness of {source.name}")
    summary = proc.stderr.decode(errors="replace").rpartition("Summary:")[2]
    integrated = re.search(r"\bI:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"\bPeak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if integrated is None or peak is None:
        raise errors.MediaToolError(
            f"measuring the loudness of {source.name} failed: ffmpeg's ebur128 printed no "
            "summary (does the clip have audio?)")
    return Loudness(max(-70.0, float(integrated.group(1))), max(-150.0, float(peak.group(1))))


TRUE_PEAK_CEILING = -1.5  # dBTP, as loudnorm's TP was
MAX_GAIN_DB = 30.0  # a near-silent clip is not blown up into noise


def _gain_db(spec: RenderSpec) -> float:
    loudness = measure_loudness(spec.source, spec.start, spec.duration)
    if loudness.integrated <= -70.0:
        return 0.0
    return min(MAX_GAIN_DB, spec.target_lufs - loudness.integrated)


def _audio_graph(spec: RenderSpec, gain_db: float) -> str:
    # alimiter's auto level (on by default) would undo the gain; latency=enabled keeps the
    # audio in sync (its 5 ms lookahead is taken back out).
    ceiling = 10 ** (TRUE_PEAK_CEILING / 20)
    return (f"[0:a]aresample=48000,volume={gain_db:.2f}dB,"
            f"alimiter=limit={ceiling:.4f}:attack=5:release=50:level=disabled:latency=enabled,"
            "aformat=channel_layouts=stereo[a]")


def _write_camera_commands(path: Path, points: list[tuple[float, float]], name: str) -> None:
    """One command per output frame for the crop filter `name` (its y too, where it
    moves); times are from the clip start."""
    moves_y = any(y != points[0][1] for _, y in points)
    lines = []
    for i, (x, y) in enumerate(points):
        line = f"{i / OUT_FPS:.4f} crop@{name} x {int(round(x))}"
        lines.append(line + (f", crop@{name} y {int(round(y))};" if moves_y else ";"))
    path.write_text("\n".join(lines) + "\n")


def caption_still(captions: Path, at: float, out: Path,
                  size: tuple[int, int] = (OUT_W, OUT_H)) -> None:
    """One frame of captions alone, over black, at `at` seconds: shows where a style puts
    its text (previews, and the check that captions keep off the facecam pane)."""
    folder = captions.parent
    run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=black:s={size[0]}x{size[1]}:r={OUT_FPS}:d={at + 1:.3f}",
         "-vf", f"ass={_local_name(captions, folder)}", "-ss", f"{at:.3f}",
         "-frames:v", "1", str(out.resolve())],
        f"drawing captions of {captions.name}", cwd=folder)
