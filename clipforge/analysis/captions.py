"""Captions: word-by-word highlighted ASS subtitles for a 1080x1920 clip.

Words are grouped into pages of a few short lines (breaking at sentence ends and pauses);
while a word is spoken it is drawn in the highlight colour. A style preset says the font,
size, colours, outline, where the captions sit and how many words go on a line
(`PRESETS`); bottom captions sit above the bottom fifth of the frame, which the
Shorts/Reels interface covers. In the `stacked` layout captions never cover the facecam
pane (`placed`). The fonts come from Debian packages (the Makefile's APT list); text in
a script the preset's font does not draw (Cyrillic in Bebas Neue, Japanese, Arabic,
Hebrew, ...) takes a Noto font that does (analysis/scripts.py). Chinese and Japanese
words are character groups, joined without spaces and measured as double width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pysubs2

from clipforge import errors
from clipforge.analysis import scripts, word_edits
from clipforge.domain import Word

PLAY_W, PLAY_H = 1080, 1920
LINE_CHARS = 18  # about what fits across the frame at the default size
MAX_LINES = 2
PAGE_PAUSE = 0.7  # a pause this long starts a new page


SEAM_GAP = 40  # px between the facecam pane and captions placed below it


@dataclass(frozen=True)
class CaptionStyle:
    name: str = "classic"
    font: str = "DejaVu Sans"
    size: int = 76
    colour: str = "&H00FFFFFF"  # ASS colours are &HAABBGGRR
    highlight: str = "&H0000D7FF"  # gold
    outline: float = 6.0
    box: bool = False  # a dark box behind the text instead of an outline
    position: str = "bottom"  # bottom | middle | top
    margin_v: int = 430  # from the bottom (bottom) or the top (top)
    words_per_line: int = 0  # 0: fill lines up to line_chars characters
    line_chars: int = LINE_CHARS
    max_lines: int = MAX_LINES
    uppercase: bool = False
    play_w: int = PLAY_W  # the output frame the style is for
    play_h: int = PLAY_H


# Fonts: DejaVu Sans (fonts-dejavu-core), Bebas Neue (fonts-bebas-neue), Lato (fonts-lato),
# Roboto Black (fonts-roboto-unhinted).
PRESETS = {
    "classic": CaptionStyle(),
    "bold": CaptionStyle(name="bold", font="Bebas Neue", size=128, highlight="&H0000FF7F",
                         outline=7.0, position="middle", words_per_line=3, max_lines=1,
                         uppercase=True),
    "clean": CaptionStyle(name="clean", font="Lato", size=66, highlight="&H00EED322",
                          outline=0.0, box=True, margin_v=470, line_chars=24),
    "oneword": CaptionStyle(name="oneword", font="Roboto Black", size=132,
                            colour="&H0000E6FF", highlight="&H0000E6FF", outline=9.0,
                            position="middle", words_per_line=1, max_lines=1,
                            uppercase=True),
}
DEFAULT_STYLE = PRESETS["classic"]
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SIZES = range(12, 301)  # caption font sizes a streamer may choose, px of the 1920 px frame


def caption_size(value: object) -> int:
    """A streamer's caption size as a number of pixels, or BadOption naming it."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) not in SIZES:
        raise errors.BadOption(f"caption_size {value!r}: give a whole number of pixels from "
                               f"{SIZES.start} to {SIZES.stop - 1} (the streamer's settings)")
    return int(text)


def style_for(name: str | None, size: int | None = None,
              colour: str | None = None) -> CaptionStyle:
    """A preset by name (unknown or empty: classic), with a streamer's size and text
    colour (`#rrggbb`, as the web UI's colour picker gives it) applied over it."""
    style = PRESETS.get(name or "", DEFAULT_STYLE)
    if size:
        style = replace(style, size=caption_size(size))
    if colour and HEX_COLOUR.match(colour):
        r, g, b = colour[1:3], colour[3:5], colour[5:7]
        style = replace(style, colour=f"&H00{b}{g}{r}".upper())
    return style


def placed(style: CaptionStyle, top_pane: int) -> CaptionStyle:
    """The style moved clear of a pane of `top_pane` pixels at the top of the frame (the
    facecam in the stacked layout): middle and top captions go just below it; bottom
    ones stay where they are, which is below it already."""
    if top_pane <= 0 or style.position == "bottom":
        return style
    return replace(style, position="top", margin_v=top_pane + SEAM_GAP)


def escape(text: str) -> str:
    """ASS reads {...} as override tags and backslashes as escapes; neutralise them."""
    return text.replace("\\", "/").replace("{", "(").replace("}", ")").replace("\n", " ")


def pages(words: list[Word], style: CaptionStyle = DEFAULT_STYLE) -> list[list[list[Word]]]:
    """Words grouped into pages of lines."""
    result: list[list[list[Word]]] = []
    lines: list[list[Word]] = [[]]
    for i, word in enumerate(words):
        line = lines[-1]
        width = scripts.width(scripts.join_words([w.word for w in [*line, word]]))
        full = len(line) >= style.words_per_line if style.words_per_line else \
            width > style.line_chars
        if line and full:
            if len(lines) == style.max_lines:
                result.append(lines)
                lines = [[]]
            else:
                lines.append([])
        lines[-1].append(word)
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt is None or word.word.endswith(scripts.SENTENCE_END) \
                or nxt.start - word.end > PAGE_PAUSE:
            result.append(lines)
            lines = [[]]
    return [p for p in result if p[0]]


def clip_words(words: list[Word], clip_start: float, clip_end: float) -> list[Word]:
    return [w for w in words if w.end > clip_start and w.start < clip_end]


def retext(words: list[Word], text: str, clip_start: float, clip_end: float) -> list[Word]:
    """The clip's words with an editor's caption text (as stored before per-word edits):
    the text is aligned with what was heard, so every word keeps its own time."""
    heard = clip_words(words, clip_start, clip_end)
    return word_edits.apply_edits(heard, word_edits.from_text(
        heard, [w.word for w in heard], text))


def build(words: list[Word], clip_start: float, clip_end: float,
          style: CaptionStyle = DEFAULT_STYLE, language: str = "") -> pysubs2.SSAFile:
    """Subtitles for the words inside [clip_start, clip_end], timed from the clip start,
    in a font that draws their script (LANGUAGE picks among the CJK fonts)."""
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(style.play_w), "PlayResY": str(style.play_h),
                      "WrapStyle": "2", "ScaledBorderAndShadow": "yes"})
    inside = clip_words(words, clip_start, clip_end)
    text = scripts.join_words([w.word for w in inside])
    style = replace(style, font=scripts.font_for(text, style.font, language))
    subs.styles["Default"] = _ass_style(style)
    if scripts.script(text) in scripts.RIGHT_TO_LEFT:
        # libass's auto base direction: without it the colour tags around each word cut
        # the line in left-to-right runs and Arabic and Hebrew words come out reversed.
        subs.styles["Default"].encoding = -1
    duration = clip_end - clip_start
    all_pages = pages(inside, style)
    for n, page in enumerate(all_pages):
        flat = [w for line in page for w in line]
        # The last word lingers a little, but never over the next page.
        linger = flat[-1].end + 0.4
        if n + 1 < len(all_pages):
            linger = min(linger, all_pages[n + 1][0][0].start)
        for i, word in enumerate(flat):
            start = word.start - clip_start
            end = (flat[i + 1].start if i + 1 < len(flat) else linger) - clip_start
            start, end = max(0.0, start), min(duration, max(end, start + 0.05))
            if end <= start:
                continue
            subs.append(pysubs2.SSAEvent(
                start=int(start * 1000), end=int(end * 1000),
                text=_page_text(page, word, style),
            ))
    return subs


ALIGN = {"bottom": pysubs2.Alignment.BOTTOM_CENTER, "middle": pysubs2.Alignment.MIDDLE_CENTER,
         "top": pysubs2.Alignment.TOP_CENTER}


def _ass_style(style: CaptionStyle) -> pysubs2.SSAStyle:
    # With a box (BorderStyle 3) the "outline" colour fills the box: half-transparent.
    outline = pysubs2.Color(0, 0, 0, 96) if style.box else pysubs2.Color(0, 0, 0)
    return pysubs2.SSAStyle(
        fontname=style.font, fontsize=style.size, bold=True,
        primarycolor=_colour(style.colour), outlinecolor=outline,
        backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=18.0 if style.box else style.outline, shadow=0 if style.box else 2,
        borderstyle=3 if style.box else 1, alignment=ALIGN[style.position],
        marginl=70, marginr=70, marginv=style.margin_v,
    )


def write(path: Path, subs: pysubs2.SSAFile) -> None:
    tmp = path.with_name(path.name + ".part")
    subs.save(str(tmp), format_="ass")
    tmp.replace(path)


def _page_text(page: list[list[Word]], current: Word, style: CaptionStyle) -> str:
    """The page with CURRENT (a word, or a character group where words have no spaces)
    in the highlight colour."""
    lines = []
    for line in page:
        text, previous = "", ""
        for w in line:
            part = escape(w.word.upper() if style.uppercase else w.word)
            if w is current:
                part = f"{{\\1c{style.highlight}&}}{part}{{\\r}}"
            text += scripts.joiner(previous, w.word) + part
            previous = w.word
        lines.append(text)
    return "\\N".join(lines)


def _colour(ass: str) -> pysubs2.Color:
    value = int(ass.replace("&H", ""), 16)
    return pysubs2.Color(r=value & 0xFF, g=(value >> 8) & 0xFF, b=(value >> 16) & 0xFF,
                         a=(value >> 24) & 0xFF)
