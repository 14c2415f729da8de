"""Captions in Japanese, Russian, Arabic and Hebrew are drawn with real glyphs: the font
fontconfig picks for each covers every character, and the rendered caption differs both
from a frame without captions and from the same caption in characters no font has (the
"tofu" boxes a missing font would give)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from clipforge.analysis import captions, scripts
from clipforge.domain import Word
from clipforge.media import render

LINES = {  # language: (words as whisper gives them, the font expected)
    "ja": (["すごい", "！", "みんな", "、", "ありがとう", "。"], "Noto Sans CJK JP"),
    "ru": (["Вот", "это", "да,", "невероятно!"], "DejaVu Sans"),
    "ar": (["مرحبا", "بكم", "في", "البث", "المباشر!"], "Noto Sans Arabic"),
    "he": (["שלום", "לכולם,", "זה", "מדהים!"], "DejaVu Sans"),
}


def timed(texts: list[str]) -> list[Word]:
    return [Word(start=0.3 * i, end=0.3 * i + 0.25, word=t, probability=1.0)
            for i, t in enumerate(texts)]


def still(folder: Path, words: list[Word], name: str, language: str = "") -> np.ndarray:
    ass, png = folder / f"{name}.ass", folder / f"{name}.png"
    captions.write(ass, captions.build(words, 0.0, 3.0, captions.DEFAULT_STYLE, language))
    render.caption_still(ass, 0.1, png)
    frame = cv2.imread(str(png))
    assert frame is not None, png
    return frame.astype(np.int16)


def charset(family: str) -> set[int]:
    """The code points of the font fontconfig picks for FAMILY (bold, as captions are)."""
    out = subprocess.run(["fc-match", "--format=%{family}|%{charset}", f"{family}:bold"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    picked, ranges = out.split("|", 1)
    assert family in picked.split(","), f"fontconfig picked {picked} for {family}"
    points: set[int] = set()
    for part in ranges.split():
        low, _, high = part.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return points


@pytest.mark.parametrize("language", list(LINES))
def test_captions_in_the_script_have_glyphs(language: str, tmp_path: Path) -> None:
    texts, family = LINES[language]
    subs = captions.build(timed(texts), 0.0, 3.0, captions.DEFAULT_STYLE, language)
    assert subs.styles["Default"].fontname == family
    covered = charset(family)
    missing = {ch for ch in "".join(texts) if not ch.isspace() and ord(ch) not in covered}
    assert not missing, f"{family} lacks {sorted(missing)}"

    drawn = still(tmp_path, timed(texts), "drawn", language)
    blank = still(tmp_path, [], "blank")
    tofu = still(tmp_path, timed(["\ue000" * len(t) for t in texts]), "tofu", language)
    area = slice(1920 - 430 - 400, 1920 - 300)  # where bottom captions sit
    ink = int((np.abs(drawn[area] - blank[area]).max(axis=2) > 64).sum())
    assert ink > 2000, ink  # something is drawn there
    unlike_tofu = int((np.abs(drawn[area] - tofu[area]).max(axis=2) > 64).sum())
    assert unlike_tofu > 0.3 * ink, (unlike_tofu, ink)  # and it is not boxes
    # The first word (highlighted, gold, at 0.1 s) starts the line: on its right in
    # Arabic and Hebrew, on its left otherwise.
    b, g, r = (drawn[area][..., i] for i in range(3))
    gold_x = np.nonzero((r > 200) & (g > 150) & (b < 80))[1]
    assert len(gold_x) > 100
    right_to_left = language in ("ar", "he")
    assert (gold_x.mean() > 540) == right_to_left, gold_x.mean()


def test_cjk_words_join_without_spaces_and_break_by_width() -> None:
    words = timed(["みなさん", "、", "きょうの", "はいしんへ", "ようこそ", "。"])
    page = captions.pages(words)[0]
    lines = [scripts.join_words([w.word for w in line]) for line in page]
    assert all(" " not in line for line in lines)
    assert all(scripts.width(line) <= captions.LINE_CHARS + 10 for line in lines)
    assert len(lines) == 2  # 26 characters, 52 wide: two lines of the 18-wide frame
