"""The one validator of each option a person chooses: a layout, a caption style, a fixed
facecam, a streamer's settings, a stream's options. The CLI, the API and the services all
call these, so a value is refused the same way wherever it comes from."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from pathlib import Path

from clipforge import errors
from clipforge.analysis.captions import HEX_COLOUR, PRESETS, caption_size
from clipforge.analysis.layout import LAYOUTS
from clipforge.domain import ChatMessage, Options
from clipforge.sources import chat as chat_files

__all__ = ["LAYOUTS", "PRESETS", "check_caption_style", "check_clip_bounds", "check_layout",
           "check_options", "check_out_dir", "check_streamer_settings", "parse_fractions"]


MAX_CLIP_SECONDS = 600.0  # as the API allows: a short is a minute, a long clip ten


def check_layout(value: str | None, name: str = "layout") -> None:
    """A layout (empty or None: the default applies)."""
    if value and value not in LAYOUTS:
        raise errors.BadOption(f"{name} {value}: use one of {', '.join(LAYOUTS)}")


def check_caption_style(value: str | None, name: str = "caption style") -> None:
    """A caption preset (empty or None: the default applies)."""
    if value and value not in PRESETS:
        raise errors.BadOption(f"{name} {value}: use one of {', '.join(PRESETS)}")


def parse_fractions(text: str) -> list[float]:
    """`x,y,w,h` as fractions of the frame (a streamer's fixed facecam)."""
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(0.0 <= v <= 1.0 for v in values) or \
            values[0] + values[2] > 1.0 or values[1] + values[3] > 1.0 or \
            min(values[2], values[3]) <= 0.0:
        raise errors.BadOption(f"facecam {text!r}: give x,y,w,h as fractions of the frame "
                               "(0..1), e.g. 0.7,0.65,0.3,0.35")
    return values


def check_streamer_settings(prefs: Mapping[str, object]) -> None:
    """The settings new streams take: a layout, a caption preset, size and colour, a fixed
    facecam."""
    check_layout(_text(prefs.get("layout")), "settings.layout")
    check_caption_style(_text(prefs.get("caption_style")), "settings.caption_style")
    if prefs.get("caption_size") not in (None, ""):
        caption_size(prefs["caption_size"])
    colour = prefs.get("caption_colour")
    if colour not in (None, "") and not HEX_COLOUR.match(str(colour)):
        raise errors.BadOption(f"caption_colour {colour!r}: give a colour as #rrggbb, "
                               "e.g. #ffcc00")
    if prefs.get("facecam"):
        parse_fractions(str(prefs["facecam"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def check_options(options: Options) -> list[ChatMessage] | None:
    """A stream's options; returns the chat file's messages (read to check it)."""
    check_layout(options.layout, "layout (--layout)")
    check_caption_style(options.caption_style, "caption style (--caption-style)")
    if not 1.0 <= options.min_len <= options.max_len <= MAX_CLIP_SECONDS:
        raise errors.BadOption(
            f"min-len {options.min_len} / max-len {options.max_len} (--min-len, --max-len): "
            f"need 1 <= min-len <= max-len <= {MAX_CLIP_SECONDS:g} seconds")
    if options.top < 1:
        raise errors.BadOption(f"top (--top) {options.top}: ask for at least one clip")
    return chat_files.read_chat(options.chat) if options.chat else None


def check_out_dir(path: Path, name: str = "out") -> None:
    """An output folder we can write: an existing folder, or one we can make. Checked
    before any work, so a bad `--out` never fails at render, after all the analysis."""
    if path.exists() and not path.is_dir():
        raise errors.BadOption(f"{name} {path}: is a file, not a folder; give a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise errors.BadOption(f"{name} {path}: {existing} is not a folder; give a folder")
    try:  # a real write: os.access says yes to root on a read-only file system
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as exc:
        raise errors.BadOption(f"{name} {path}: cannot write there ({exc.strerror}); give "
                               "a folder you can write to") from None


MIN_CLIP_SECONDS = 1.0  # shorter than this, a clip cannot be rendered or watched


def check_clip_bounds(clip_id: str, start: float, end: float, duration: float) -> None:
    """A clip a person trimmed: inside the stream and at least a second long, so one edit
    can never fail its render (and with it the stream)."""
    if not (math.isfinite(start) and math.isfinite(end) and 0.0 <= start < end <= duration):
        raise errors.BadOption(
            f"clip {clip_id}: start {start} and end {end} must satisfy "
            f"0 <= start < end <= {duration:.3f} (the stream's length)")
    if end - start < MIN_CLIP_SECONDS:
        raise errors.BadOption(
            f"clip {clip_id}: {end - start:.3g} s from start {start} to end {end}; a clip "
            f"lasts at least {MIN_CLIP_SECONDS:g} s")
