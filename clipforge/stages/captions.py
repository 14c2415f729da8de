"""Captions: word-by-word highlighted ASS subtitles for a 1080x1920 clip.

Words are grouped into pages of at most two short lines (breaking at sentence ends and
pauses); while a word is spoken it is drawn in the highlight colour. Captions sit above
the bottom fifth of the frame, which the Shorts/Reels interface covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pysubs2

from clipforge.domain import Word

PLAY_W, PLAY_H = 1080, 1920
LINE_CHARS = 18  # about what fits across the frame at the default size
MAX_LINES = 2
PAGE_PAUSE = 0.7  # a pause this long starts a new page


@dataclass(frozen=True)
class CaptionStyle:
    font: str = "DejaVu Sans"
    size: int = 76
    colour: str = "&H00FFFFFF"  # ASS colours are &HAABBGGRR
    highlight: str = "&H0000D7FF"  # gold
    outline: float = 6.0
    margin_v: int = 430


DEFAULT_STYLE = CaptionStyle()


def escape(text: str) -> str:
    """ASS reads {...} as override tags and backslashes as escapes; neutralise them."""
    return text.replace("\\", "/").replace("{", "(").replace("}", ")").replace("\n", " ")


def pages(words: list[Word]) -> list[list[list[Word]]]:
    """Words grouped into pages of lines."""
    result: list[list[list[Word]]] = []
    lines: list[list[Word]] = [[]]
    for i, word in enumerate(words):
        line = lines[-1]
        width = len(" ".join(w.word for w in [*line, word]))
        if line and width > LINE_CHARS:
            if len(lines) == MAX_LINES:
                result.append(lines)
                lines = [[]]
            else:
                lines.append([])
        lines[-1].append(word)
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt is None or word.word.endswith((".", "!", "?")) or nxt.start - word.end > PAGE_PAUSE:
            result.append(lines)
            lines = [[]]
    return [p for p in result if p[0]]


def clip_words(words: list[Word], clip_start: float, clip_end: float) -> list[Word]:
    return [w for w in words if w.end > clip_start and w.start < clip_end]


def retext(words: list[Word], text: str, clip_start: float, clip_end: float) -> list[Word]:
    """The clip's words with an editor's caption text. The same number of words keeps
    each word's timing; otherwise the new words share the speech's span evenly."""
    heard = clip_words(words, clip_start, clip_end)
    typed = text.split()
    if len(typed) == len(heard):
        return [Word(w.start, w.end, t, w.probability) for w, t in zip(heard, typed,
                                                                       strict=True)]
    if not typed:
        return []
    begin = heard[0].start if heard else clip_start
    finish = heard[-1].end if heard else clip_end
    step = (finish - begin) / len(typed)
    return [Word(begin + i * step, begin + (i + 1) * step, t, 1.0) for i, t in enumerate(typed)]


def build(words: list[Word], clip_start: float, clip_end: float,
          style: CaptionStyle = DEFAULT_STYLE) -> pysubs2.SSAFile:
    """Subtitles for the words inside [clip_start, clip_end], timed from the clip start."""
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(PLAY_W), "PlayResY": str(PLAY_H),
                      "WrapStyle": "2", "ScaledBorderAndShadow": "yes"})
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=style.font, fontsize=style.size, bold=True,
        primarycolor=_colour(style.colour), outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128), outline=style.outline, shadow=2,
        alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=70, marginr=70,
        marginv=style.margin_v,
    )
    inside = clip_words(words, clip_start, clip_end)
    duration = clip_end - clip_start
    all_pages = pages(inside)
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


def write(path: Path, subs: pysubs2.SSAFile) -> None:
    tmp = path.with_name(path.name + ".part")
    subs.save(str(tmp), format_="ass")
    tmp.replace(path)


def _page_text(page: list[list[Word]], current: Word, style: CaptionStyle) -> str:
    lines = []
    for line in page:
        parts = []
        for w in line:
            text = escape(w.word)
            if w is current:
                text = f"{{\\1c{style.highlight}&}}{text}{{\\r}}"
            parts.append(text)
        lines.append(" ".join(parts))
    return "\\N".join(lines)


def _colour(ass: str) -> pysubs2.Color:
    value = int(ass.replace("&H", ""), 16)
    return pysubs2.Color(r=value & 0xFF, g=(value >> 8) & 0xFF, b=(value >> 16) & 0xFF,
                         a=(value >> 24) & 0xFF)
