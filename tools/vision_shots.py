"""Screenshots of every layout and caption preset, for a person to look at.

Renders 3-second clips of the generated vision streams (tools/synth.py) the way the
render job does (analysis, layout, virtual camera, captions) and writes one frame of
each as PNG into artifacts/vision/:

    layout-crop.png     two people, the camera following the astronaut (the reference)
    layout-blur.png     the facecam-over-bikes stream fitted over its blurred copy
    layout-stacked.png  the same stream: facecam on top, gameplay below
    layout-waveform.png an audio-only source
    caption-NAME.png    each caption preset on the stacked layout

    python -m tools.vision_shots [--out artifacts/vision]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import cv2

from clipforge.analysis import captions, layout
from clipforge.analysis.analyze import Recognition, analyze
from clipforge.analysis.camera import camera_path
from clipforge.analysis.faces import FaceDetector
from clipforge.analysis.recognize import DlibEmbedder
from clipforge.domain import Analysis, Chunk, MediaInfo, Word
from clipforge.media import ffmpeg
from clipforge.media.render import OUT_FPS, RenderSpec, render
from tools import synth

ROOT = Path(__file__).resolve().parent.parent
START, LENGTH, AT = 2.0, 3.0, 1.2
TEXT = "no way that was actually insane chat"


def words() -> list[Word]:
    return [Word(START + 0.2 + 0.33 * i, START + 0.5 + 0.33 * i, w, 1.0)
            for i, w in enumerate(TEXT.split())]


def shoot(out_dir: Path, name: str, info: MediaInfo, spec_layout: str,
          style: captions.CaptionStyle, **extra: object) -> Path:
    """Render the clip [START, START + LENGTH) and keep one frame of it."""
    work = out_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    ass = work / f"{name}.ass"
    top = int(extra.get("top_height", 0) or 0)
    captions.write(ass, captions.build(words(), START, START + LENGTH,
                                       captions.placed(style, top)))
    mp4 = work / f"{name}.mp4"
    render(RenderSpec(source=Path(info.path), start=START, duration=LENGTH,
                      layout=spec_layout, out=mp4, captions=ass, preset="ultrafast",
                      **extra))  # type: ignore[arg-type]
    png = out_dir / f"{name}.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{AT}", "-i", str(mp4),
                    "-frames:v", "1", str(png)], check=True)
    return png


def stacked_extra(info: MediaInfo, seen: Analysis) -> dict[str, object]:
    assert seen.facecam is not None, "no facecam found in the facecam stream"
    panes = layout.stacked(seen.facecam, info.width, info.height, seen.motion)
    box = panes.facecam
    game = panes.gameplay
    return {"top_region": (box.x, box.y, box.w, box.h),
            "bottom_region": (game.x, game.y, game.w, game.h),
            "top_height": panes.top_height}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "vision")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    cache = ROOT / ".cache" / "tests" / "vision"
    detector, embedder = FaceDetector(), DlibEmbedder()
    classic = captions.PRESETS["classic"]

    cam = ffmpeg.probe(synth.make_facecam_stream(cache / "facecam.mp4").video)
    seen = analyze(cam, Chunk(0, 0.0, cam.duration, ""), detector)
    extra = stacked_extra(cam, seen)
    print(shoot(out, "layout-stacked", cam, "stacked", classic, **extra))
    print(shoot(out, "layout-blur", cam, "blur", classic))
    for name, style in captions.PRESETS.items():
        print(shoot(out, f"caption-{name}", cam, "stacked", style, **extra))

    two = ffmpeg.probe(synth.make_portraits_stream(cache / "two-people.mp4"))
    seen = analyze(two, Chunk(0, 0.0, two.duration, ""), detector,
                   recognition=Recognition(embedder))
    image = cv2.imread(str(synth.DATA_DIR / "astronaut.png"))
    ref = embedder.embed(image, detector.detect(image)[0])
    crop_w = two.height * 9 // 16 // 2 * 2
    path = camera_path(seen.faces, two.width, two.height, crop_w, START, START + LENGTH,
                       OUT_FPS, references=[ref] if ref else None, cuts=seen.cuts)
    print(shoot(out, "layout-crop", two, "crop", classic, crop_width=crop_w,
                crop_height=two.height, crop_path=path))

    speech = cache / "speech.m4a"
    synth.make_speech_file(speech, 8.0)
    print(shoot(out, "layout-waveform", ffmpeg.probe(speech), "waveform", classic))


if __name__ == "__main__":
    main()
