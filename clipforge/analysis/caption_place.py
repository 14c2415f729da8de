"""Where captions sit: scaled to the output's size (9:16, 1:1, 16:9), and moved off the
speaker's face where they would cover it (the Bold and One-word presets sit mid-frame,
which in the crop layout is where the mouth is).

A page of captions is at most `max_lines` lines of `size` px; libass draws a line about
LINE_HEIGHT times the font size high, plus the outline (or the box's padding) around it.
That estimate (`band`) is what is kept clear of the face; tests/test_formats.py checks it
against the pixels libass draws.
"""

from __future__ import annotations

from dataclasses import replace

from clipforge.analysis.captions import PLAY_H, PLAY_W, CaptionStyle

LINE_HEIGHT = 1.25  # of the font size
SIZE_FACTOR = {"square": 0.75, "landscape": 0.7}  # font size against 9:16's
BOTTOM_MARGIN = {"square": 0.10, "landscape": 0.07}  # of the height, bottom captions
BOTTOM_UI = {"portrait": 0.2, "square": 0.05, "landscape": 0.05}  # covered by players
TOP_EDGE = 0.04  # of the height: captions never start above this
CHIN = 0.15  # of the face box's height: the box ends about at the mouth, the chin is below
GAP = 24  # px between the face and captions moved off it


def shape(w: int, h: int) -> str:
    return "portrait" if h > w * 1.05 else "landscape" if w > h * 1.05 else "square"


def framed(style: CaptionStyle, w: int, h: int) -> CaptionStyle:
    """The style for a `w` x `h` output: the same look at a size that fits (a square or
    landscape line holds more characters), bottom captions just above the bottom edge
    (the Shorts interface that needs the 9:16 margin is not over them)."""
    kind = shape(w, h)
    if kind == "portrait":
        return replace(style, play_w=w, play_h=h)
    k = SIZE_FACTOR[kind]
    margin = round(h * BOTTOM_MARGIN[kind]) if style.position == "bottom" \
        else round(style.margin_v * h / PLAY_H)
    return replace(style, play_w=w, play_h=h, size=round(style.size * k),
                   outline=round(style.outline * k, 1), margin_v=margin,
                   line_chars=round(style.line_chars * w / PLAY_W / k))


def band(style: CaptionStyle) -> tuple[float, float]:
    """Top and bottom (output px) of the captions' tallest page."""
    pad = 18.0 if style.box else style.outline + 2
    tall = style.max_lines * style.size * LINE_HEIGHT + 2 * pad
    h = style.play_h
    if style.position == "bottom":
        return h - style.margin_v - tall, h - style.margin_v
    if style.position == "top":
        return float(style.margin_v), style.margin_v + tall
    return h / 2 - tall / 2, h / 2 + tall / 2


def clear_of_face(style: CaptionStyle, face_top: float, face_bottom: float) -> CaptionStyle:
    """The style moved off a face that spans `face_top`..`face_bottom` (output px) in
    the clip: below it (chin included) if the captions fit above the players' bottom
    bar, else above it, else to whichever edge is farther from the face."""
    low = face_bottom + CHIN * (face_bottom - face_top)
    top, bottom = band(style)
    if bottom <= face_top or top >= low:
        return style
    tall, h = bottom - top, style.play_h
    floor = h * (1 - BOTTOM_UI[shape(style.play_w, h)])
    if low + GAP + tall <= floor:
        return replace(style, position="top", margin_v=round(low + GAP))
    if face_top - GAP - tall >= h * TOP_EDGE:
        return replace(style, position="bottom", margin_v=round(h - face_top + GAP))
    if face_top > h - low:  # more room above the face than below it
        return replace(style, position="top", margin_v=round(h * TOP_EDGE))
    return replace(style, position="bottom", margin_v=round(h - floor))


def face_in_output(band_src: list[float], layout: str, src_w: int, src_h: int,
                   crop_h: int, out_w: int, out_h: int) -> tuple[float, float] | None:
    """A face's top and bottom (source px) where they land in the output: the crop
    window spans `crop_h` source rows from the top; blur fits the frame in the middle."""
    top, bottom = band_src
    if layout == "crop":
        k = out_h / crop_h
        return top * k, bottom * k
    if layout == "blur":
        k = min(out_w / src_w, out_h / src_h)
        off = (out_h - src_h * k) / 2
        return off + top * k, off + bottom * k
    return None
