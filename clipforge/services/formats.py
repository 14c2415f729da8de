"""What the editor's preview and region picker need: the output sizes, the caption presets
in the browser's terms, and a frame of the recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipforge.analysis.captions import PRESETS, CaptionStyle
from clipforge.analysis.layout import ASPECTS
from clipforge.media import ffmpeg

FRAME_WIDTH = 1280  # px: the region picker's frame, at most


def aspects() -> dict[str, list[int]]:
    return {name: list(size) for name, size in ASPECTS.items()}


def presets() -> dict[str, dict[str, Any]]:
    return {name: preview_style(style) for name, style in PRESETS.items()}


def preview_style(style: CaptionStyle) -> dict[str, Any]:
    """A caption preset in the browser's terms (ASS colours &HAABBGGRR -> #rrggbb)."""
    def css(ass: str) -> str:
        value = ass.replace("&H", "").rjust(8, "0")
        return f"#{value[6:8]}{value[4:6]}{value[2:4]}".lower()
    return {"font": style.font, "size": style.size, "colour": css(style.colour),
            "highlight": css(style.highlight), "outline": style.outline, "box": style.box,
            "position": style.position, "margin_v": style.margin_v,
            "words_per_line": style.words_per_line, "line_chars": style.line_chars,
            "max_lines": style.max_lines, "uppercase": style.uppercase}


def frame(recording: Path, at: float) -> bytes:
    """A JPEG frame of the recording at `at` seconds."""
    return ffmpeg.still_frame(recording, at, FRAME_WIDTH)
