"""SRT and WebVTT files of a clip's captions: the pages the burned-in captions show, timed
from the clip's start (for platforms that take a subtitle track, and for checking what
was burned in)."""

from __future__ import annotations

from dataclasses import dataclass

from clipforge.analysis import scripts
from clipforge.analysis.captions import DEFAULT_STYLE, CaptionStyle, clip_words, pages
from clipforge.domain import Word


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the clip's start
    end: float
    text: str


def cues(words: list[Word], clip_start: float, clip_end: float,
         style: CaptionStyle = DEFAULT_STYLE) -> list[Cue]:
    """One cue per caption page, from its first word's start to its last word's end,
    inside the clip."""
    duration = clip_end - clip_start
    result = []
    for page in pages(clip_words(words, clip_start, clip_end), style):
        flat = [w for line in page for w in line]
        start = max(0.0, flat[0].start - clip_start)
        end = min(duration, max(flat[-1].end - clip_start, start + 0.05))
        text = "\n".join(scripts.join_words([w.word for w in line]) for line in page)
        if end > start:
            result.append(Cue(start, end, text.upper() if style.uppercase else text))
    return result


def _stamp(seconds: float, comma: bool) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if comma else '.'}{ms:03d}"


def srt(found: list[Cue]) -> str:
    return "".join(f"{n}\n{_stamp(c.start, True)} --> {_stamp(c.end, True)}\n{c.text}\n\n"
                   for n, c in enumerate(found, 1))


def vtt(found: list[Cue]) -> str:
    # "-->" cannot appear in a WebVTT cue's text; captions never need it.
    return "WEBVTT\n\n" + "".join(
        f"{_stamp(c.start, False)} --> {_stamp(c.end, False)}\n"
        f"{c.text.replace('-->', '->')}\n\n" for c in found)
