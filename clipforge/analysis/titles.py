"""Titles: a short title per clip from its own transcript, no network service."""

from __future__ import annotations

import re
from collections import Counter

from clipforge.analysis.bounds import Sentence

HYPE_WORDS = frozenset({
    "insane", "crazy", "unbelievable", "clutch", "wow", "omg", "god", "no", "way", "what",
    "lets", "let's", "go", "wait", "huge", "amazing", "incredible", "yes", "holy", "wild",
})
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i if in into is it its "
    "just me my of on or our so than that the their them then there they this to was we "
    "were what when which who will with you your not do did does can could would should "
    "about all also been more some very really get got like know think going one up out "
    "oh".split()
)
MAX_CHARS = 60


def title(spoken: list[Sentence], start: float, end: float, peak: float) -> str:
    inside = [s for s in spoken if s.end > start and s.start < end]
    if not inside:
        return "Highlight"
    hype = [s for s in inside if _hype(s.text)]
    if hype:
        return _trim(min(hype, key=lambda s: abs((s.start + s.end) / 2 - peak)).text)
    keywords = _keywords(" ".join(s.text for s in inside))
    return _trim(" ".join(k.capitalize() for k in keywords)) if keywords else "Highlight"


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _hype(text: str) -> bool:
    return text.rstrip().endswith("!") or len(HYPE_WORDS & set(_tokens(text))) >= 2


def _keywords(text: str, count: int = 4) -> list[str]:
    tokens = [t for t in _tokens(text) if len(t) > 2 and t not in STOPWORDS]
    return [word for word, _ in Counter(tokens).most_common(count)]


def _trim(text: str) -> str:
    text = text.strip()
    if len(text) <= MAX_CHARS:
        return text
    cut = text[:MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
