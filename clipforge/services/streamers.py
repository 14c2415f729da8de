"""A streamer's defaults for new streams (layout, caption style, a fixed facecam), as
the CLI and the API set them."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.analysis.captions import PRESETS
from clipforge.analysis.layout import LAYOUTS
from clipforge.storage.models import StreamerRow


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


def check_settings(prefs: Mapping[str, object]) -> None:
    """The settings new streams take: a layout, a caption preset, a fixed facecam."""
    if prefs.get("layout") not in (None, "", *LAYOUTS):
        raise errors.BadOption(f"settings.layout {prefs['layout']}: use one of "
                               f"{', '.join(LAYOUTS)}")
    if prefs.get("caption_style") not in (None, "", *PRESETS):
        raise errors.BadOption(f"settings.caption_style {prefs['caption_style']}: use one "
                               f"of {', '.join(PRESETS)}")
    if prefs.get("facecam"):
        parse_fractions(str(prefs["facecam"]))


def find_streamer(s: Session, name: str) -> StreamerRow:
    """The streamer named so, made if new."""
    row = s.scalar(select(StreamerRow).where(StreamerRow.name == name))
    if row is None:
        row = StreamerRow(name=name, settings={})
        s.add(row)
        s.flush()
    return row


def update_streamer(s: Session, name: str, prefs: Mapping[str, object | None]) -> StreamerRow:
    """The streamer named so (made if new), with the given settings changed (None: kept)."""
    given = {k: v for k, v in prefs.items() if v is not None}
    check_settings(given)
    row = find_streamer(s, name)
    row.settings = {**(row.settings or {}), **given}
    s.flush()
    return row
