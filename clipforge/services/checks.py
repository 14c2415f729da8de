"""The one validator of each option a person chooses: a layout, a caption style, a fixed
facecam, a streamer's settings, a stream's options. The CLI, the API and the services all
call these, so a value is refused the same way wherever it comes from."""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from clipforge import errors
from clipforge.analysis import languages, transcribe
from clipforge.analysis.captions import PRESETS, SIZES
from clipforge.analysis.layout import ASPECTS, LAYOUTS
from clipforge.domain import ChatMessage, Options
from clipforge.publish import CHOICES, PLATFORMS
from clipforge.publish.templates import CAPTION_MAX, PRIVACY, TIKTOK_MODES, TIKTOK_PRIVACY
from clipforge.sources import chat as chat_files

__all__ = ["ASPECTS", "LAYOUTS", "PRESETS", "check_aspect", "check_caption_style",
           "check_clip_bounds", "check_language", "check_layout", "check_options", "check_out_dir",
           "check_streamer_settings", "parse_fractions"]


MAX_CLIP_SECONDS = 600.0  # as the API allows: a short is a minute, a long clip ten


def check_layout(value: str | None, name: str = "layout") -> None:
    """A layout (empty or None: the default applies)."""
    if value and value not in LAYOUTS:
        raise errors.BadOption(f"{name} {value}: use one of {', '.join(LAYOUTS)}")


def check_aspect(value: str | None, name: str = "aspect") -> None:
    """An aspect ratio (empty or None: the default applies)."""
    if value and value not in ASPECTS:
        raise errors.BadOption(f"{name} {value}: use one of {', '.join(ASPECTS)}")


def check_language(value: str | None, name: str = "language") -> str:
    """A spoken language: `auto` or a whisper language code (empty or None: the default
    applies). Returns it as kept (lower case)."""
    code = languages.normalise(value or "")
    if code and code != languages.AUTO and code not in transcribe.LANGUAGES:
        raise errors.BadOption(
            f"{name} {value}: use auto or a language code such as "
            f"{', '.join(languages.NAMES)} (any of whisper's {len(transcribe.LANGUAGES)})")
    return code


def check_caption_style(value: str | None, name: str = "caption style") -> None:
    """A caption preset (empty or None: the default applies)."""
    if value and value not in PRESETS:
        raise errors.BadOption(f"{name} {value}: use one of {', '.join(PRESETS)}")


def parse_fractions(text: str, name: str = "facecam") -> list[float]:
    """`x,y,w,h` as fractions of the frame (a streamer's fixed facecam or gameplay)."""
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(0.0 <= v <= 1.0 for v in values) or \
            values[0] + values[2] > 1.0 or values[1] + values[3] > 1.0 or \
            min(values[2], values[3]) <= 0.0:
        raise errors.BadOption(f"{name} {text!r}: give x,y,w,h as fractions of the frame "
                               "(0..1), e.g. 0.7,0.65,0.3,0.35")
    return values


COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_SETTINGS = 32


def _choice(values: Collection[str]) -> Callable[[str, object], object]:
    def check(name: str, value: object) -> object:
        if value not in ("", *values):
            raise errors.BadOption(f"{name} {value!r}: use one of {', '.join(values)}")
        return value
    return check


def _size(name: str, value: object) -> object:
    low, high = SIZES.start, SIZES.stop - 1  # pixels of the 1080x1920 frame
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.BadOption(f"{name} {value!r}: give a whole number of pixels from {low} "
                               f"to {high}")
    return value


def _colour(name: str, value: object) -> object:
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        raise errors.BadOption(f"{name} {value!r}: give a colour as #rrggbb")
    return value.lower()


def _language(name: str, value: object) -> object:
    return check_language(str(value), name)


def _facecam(name: str, value: object) -> object:
    if value:
        parse_fractions(str(value), name)
    return value


def _text_of(limit: int) -> Callable[[str, object], object]:
    def check(name: str, value: object) -> object:
        if not isinstance(value, str) or len(value) > limit:
            raise errors.BadOption(f"{name}: give text of at most {limit} characters")
        return value
    return check


def _flag(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise errors.BadOption(f"{name} {value!r}: use true or false")
    return value


def _platforms(name: str, value: object) -> object:
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    chosen = list(dict.fromkeys(str(p).strip().lower() for p in items if str(p).strip()))
    unknown = [p for p in chosen if p not in PLATFORMS]
    if unknown:
        raise errors.BadOption(f"{name} {', '.join(unknown)}: use {CHOICES}")
    return ",".join(chosen)


# The one schema of a streamer's settings: each key, and how its value is checked.
STREAMER_SETTINGS: dict[str, Callable[[str, object], object]] = {
    "layout": _choice(LAYOUTS), "caption_style": _choice(PRESETS), "caption_size": _size,
    "caption_colour": _colour, "facecam": _facecam, "gameplay": _facecam,
    "aspect": _choice(ASPECTS), "auto_publish": _platforms, "language": _language,
    "privacy": _choice(PRIVACY), "hashtags": _text_of(500), "title_template": _text_of(500),
    "description_template": _text_of(5000), "post_template": _text_of(1000),
    "tiktok_template": _text_of(CAPTION_MAX), "tiktok_mode": _choice(TIKTOK_MODES),
    "tiktok_privacy": _choice(TIKTOK_PRIVACY), "instagram_template": _text_of(CAPTION_MAX),
    "instagram_share_to_feed": _flag,
}


def check_streamer_settings(prefs: Mapping[str, object],
                            connected: Collection[str] | None = None) -> dict[str, object]:
    """A streamer's settings, checked against the one schema above; returns them as kept.
    Unknown keys are refused; `auto_publish` names platforms, only CONNECTED ones where
    the streamer's accounts are known."""
    if len(prefs) > MAX_SETTINGS:
        raise errors.BadOption(f"settings: {len(prefs)} keys; at most {MAX_SETTINGS}")
    unknown = sorted(str(k)[:100] for k in prefs if k not in STREAMER_SETTINGS)
    if unknown:
        raise errors.BadOption(f"settings.{unknown[0]}: not a setting; use "
                               f"{', '.join(STREAMER_SETTINGS)}")
    kept = {key: STREAMER_SETTINGS[key](f"settings.{key}", value)
            for key, value in prefs.items() if value is not None}
    wanted = str(kept.get("auto_publish") or "").split(",")
    missing = [p for p in wanted if p and connected is not None and p not in connected]
    if missing:
        raise errors.BadOption(f"settings.auto_publish {', '.join(missing)}: no "
                               f"{' or '.join(missing)} account is connected for this "
                               "streamer; connect one first")
    return kept


def check_options(options: Options) -> list[ChatMessage] | None:
    """A stream's options; returns the chat file's messages (read to check it)."""
    check_layout(options.layout, "layout (--layout)")
    check_caption_style(options.caption_style, "caption style (--caption-style)")
    check_aspect(options.aspect, "aspect (--aspect)")
    check_language(options.language, "language (--language)")
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
