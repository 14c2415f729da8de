"""Writing systems: which script a text is in, how its words join, how wide it is drawn,
and which installed font draws it.

Chinese and Japanese put no spaces between words: whisper's "words" there are groups of
characters, joined with nothing. Their characters are drawn about twice as wide as a
Latin letter. Arabic and Hebrew run right to left; libass (with FriBidi and HarfBuzz)
orders and shapes them as long as the text is given in spoken order, which it is.
"""

from __future__ import annotations

import re
import unicodedata

# Scripts by Unicode block ranges; enough to choose a font and a way to join words.
_RANGES = (
    ("cjk", 0x3040, 0x30FF),  # Hiragana, Katakana
    ("cjk", 0x3400, 0x4DBF),  # CJK Extension A
    ("cjk", 0x4E00, 0x9FFF),  # CJK Unified Ideographs
    ("cjk", 0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    ("cjk", 0xFF66, 0xFF9F),  # half-width Katakana
    ("hangul", 0x1100, 0x11FF), ("hangul", 0x3130, 0x318F), ("hangul", 0xAC00, 0xD7AF),
    ("cyrillic", 0x0400, 0x052F), ("greek", 0x0370, 0x03FF),
    ("arabic", 0x0600, 0x06FF), ("arabic", 0x0750, 0x077F), ("arabic", 0xFB50, 0xFDFF),
    ("arabic", 0xFE70, 0xFEFF), ("hebrew", 0x0590, 0x05FF), ("hebrew", 0xFB1D, 0xFB4F),
)
# Punctuation of CJK text (。、！？「」…): joins like a CJK character.
_CJK_PUNCT = re.compile(r"[\u3000-\u303F\uFF01-\uFF0F\uFF1A-\uFF20]")
SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")
RIGHT_TO_LEFT = ("arabic", "hebrew")

# Installed fonts (Debian packages named in the Makefile) that draw each script. A
# preset's own font is kept where it draws the script (COVERS); else the script's font.
SCRIPT_FONTS = {
    "cyrillic": "Noto Sans", "greek": "Noto Sans",  # fonts-noto-core
    # Noto Sans Hebrew has no Latin punctuation ("!", ","); DejaVu Sans has both.
    "arabic": "Noto Sans Arabic", "hebrew": "DejaVu Sans",  # fonts-noto-core
    "cjk": "Noto Sans CJK JP", "hangul": "Noto Sans CJK KR",  # fonts-noto-cjk
}
CJK_FONTS = {"zh": "Noto Sans CJK SC", "ja": "Noto Sans CJK JP", "ko": "Noto Sans CJK KR"}
COVERS = {
    "DejaVu Sans": {"latin", "cyrillic", "greek", "hebrew"},
    "Roboto Black": {"latin", "cyrillic", "greek"},
    "Lato": {"latin", "cyrillic", "greek"},
    "Bebas Neue": {"latin"},
}


def script_of_char(ch: str) -> str:
    code = ord(ch)
    for name, low, high in _RANGES:
        if low <= code <= high:
            return name
    if _CJK_PUNCT.match(ch):
        return "cjk"
    return "latin" if ch.isalpha() else ""


def script(text: str) -> str:
    """The script most of TEXT's letters are in ("latin" for none)."""
    counts: dict[str, int] = {}
    for ch in text:
        name = script_of_char(ch)
        if name:
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else "latin"


def _unspaced(ch: str) -> bool:
    return script_of_char(ch) == "cjk"


def joiner(before: str, after: str) -> str:
    """What goes between two words: nothing between CJK characters (or before CJK
    punctuation), a space anywhere else."""
    if not before or not after:
        return ""
    last, first = before[-1], after[0]
    if first in "'’":  # French and Italian elision: "l" + "'intro" is "l'intro"
        return ""
    if _unspaced(last) and (_unspaced(first) or not first.isalnum()):
        return ""
    if _unspaced(first) and not last.isalnum() and any(_unspaced(ch) for ch in before):
        return ""  # "すごい!" then "みんな": CJK text with Latin punctuation
    return " "


def join_words(words: list[str]) -> str:
    """Words as text, spaced as their script is written."""
    text, previous = "", ""
    for word in words:
        text += joiner(previous, word) + word
        previous = word
    return text


def width(text: str) -> int:
    """Drawn width in Latin letters: CJK and other wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def font_for(text: str, preset_font: str, language: str = "") -> str:
    """A font that draws TEXT: the preset's own where it covers the script."""
    found = script(text)
    if found in COVERS.get(preset_font, {"latin"}):
        return preset_font
    if found in ("cjk", "hangul") and language in CJK_FONTS:
        return CJK_FONTS[language]
    return SCRIPT_FONTS.get(found, preset_font)


def plain_words(text: str) -> list[str]:
    """TEXT's words, lower case, without punctuation or digits; CJK text, which has no
    spaces, as single characters."""
    found = []
    for word in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)*", text.lower()):
        if any(_unspaced(ch) for ch in word):
            found.extend(word)
        else:
            found.append(word)
    return found


def count_terms(text: str, terms: frozenset[str]) -> int:
    """How often the words or phrases TERMS (lower case) are said in TEXT: whole words
    where words are spaced, anywhere in the run of characters where they are not."""
    words = plain_words(text)
    spaced = " " + " ".join(words) + " "
    unspaced = "".join(words)
    return sum(unspaced.count(t) if any(_unspaced(ch) for ch in t) else
               spaced.count(f" {t} ") for t in terms)
