"""Titles: a phrase people would post, taken from the clip itself, no network service.

The title is the punchiest complete sentence (or clause) said in the clip, with filler
trimmed from its edges and at most MAX_CHARS long, so it is always a contiguous run of
the clip's own words. When the words are weak (nothing exclaimed, asked or hyped, or no
speech at all), it is what most of chat said in reaction; never a list of keywords.
"""

from __future__ import annotations

import re
from collections import Counter

from clipforge.analysis import scripts
from clipforge.analysis.bounds import Sentence
from clipforge.analysis.semantics import plain_words
from clipforge.domain import ChatMessage

MAX_CHARS = 60
MIN_WORDS = 2
STRONG = 2.0  # a phrase scoring below this is weak: chat's reaction is the better title
FALLBACK = "Highlight"

HYPE_WORDS = frozenset({
    "insane", "crazy", "unbelievable", "clutch", "wow", "omg", "god", "no", "way", "what",
    "lets", "let's", "wait", "huge", "amazing", "incredible", "yes", "holy", "wild",
    "believe", "kidding", "best", "worst", "never", "ever", "did", "craziest", "why",
})
# Said to fill time, not to mean anything: trimmed from a title's edges.
FILLER = frozenset({
    "um", "uh", "erm", "er", "ah", "hmm", "mm", "like", "so", "well", "okay", "ok",
    "right", "anyway", "basically", "actually", "and", "but", "then",
})
_CLAUSE = re.compile(r"(?<=[.!?…,;:])\s+|(?<=[。！？、])")


def title(spoken: list[Sentence], start: float, end: float, peak: float,
          chat: list[ChatMessage] | None = None, hype: frozenset[str] = HYPE_WORDS) -> str:
    """The clip's title, in the clip's language: its punchiest phrase (HYPE: the
    language's hype words), else chat's dominant reaction."""
    inside = [s for s in spoken if s.end > start and s.start < end]
    phrases = [(punch(p, s, peak, hype), p) for s in inside for p in _phrases(s.text)]
    best = max(phrases, key=lambda sp: sp[0], default=None)
    if best is not None and best[0] >= STRONG:
        return best[1]
    reaction = dominant_reaction(chat or [])
    if reaction:
        return reaction
    return best[1] if best is not None else FALLBACK


def punch(phrase: str, sentence: Sentence, peak: float,
          hype: frozenset[str] = HYPE_WORDS) -> float:
    """How much a phrase sounds like the moment: exclaimed, asked, hype words, short,
    said near the peak."""
    tokens = plain_words(phrase)
    score = 1.5 * (phrase.count("!") + phrase.count("！"))
    score += 0.8 * ("?" in phrase or "？" in phrase)
    score += 0.8 * min(3, scripts.count_terms(phrase, hype | HYPE_WORDS))
    score += 0.5 * (len(tokens) <= 8 or scripts.width(phrase) <= 2 * MAX_CHARS // 3)
    distance = max(0.0, sentence.start - peak, peak - sentence.end)
    return score - 0.1 * distance


def dominant_reaction(chat: list[ChatMessage]) -> str | None:
    """What the most chatters wrote (each person once), as one of them wrote it: words,
    not a lone emote or laugh ("www", "PogChamp" name no moment)."""
    said: dict[str, Counter[str]] = {}
    users: dict[str, set[str]] = {}
    for msg in chat:
        text = " ".join(msg.text.split())
        key = text.lower().strip("!?. ")
        if len(re.findall(r"\w+", key)) < MIN_WORDS or len(text) > MAX_CHARS:
            continue
        said.setdefault(key, Counter())[text] += 1
        users.setdefault(key, set()).add(msg.user.lower())
    if not users:
        return None
    key = max(users, key=lambda k: (len(users[k]), -len(k)))
    if len(users[key]) < 3:  # three people agreeing, or it is nobody's reaction
        return None
    return said[key].most_common(1)[0][0]


def _phrases(text: str) -> list[str]:
    """The sentence if it fits; else every run of its clauses that fits (cleaned), or
    failing that its first words."""
    whole = _clean(text)
    if whole and len(whole) <= MAX_CHARS:
        return [whole]
    clauses = _CLAUSE.split(text)
    runs = [_clean(" ".join(clauses[i:j])) for i in range(len(clauses))
            for j in range(i + 1, len(clauses) + 1)]
    fitting = [r for r in runs if r and len(r) <= MAX_CHARS]
    if fitting:
        return fitting
    return [_cut(whole)] if whole else []


def _clean(text: str) -> str:
    """Filler and dangling commas trimmed from both edges; '' when too little is left."""
    words = text.split()
    while words and _bare(words[0]) in FILLER:
        words.pop(0)
    while words and _bare(words[-1]) in FILLER and len(words) > MIN_WORDS:
        words.pop()
    if len(plain_words(" ".join(words))) < MIN_WORDS:  # CJK: characters count
        return ""
    phrase = " ".join(words).rstrip(",;:-、")
    return phrase[0].upper() + phrase[1:]


def _cut(text: str) -> str:
    """A long clause cut at a word, within MAX_CHARS (its first words)."""
    cut = text[:MAX_CHARS + 1].rsplit(" ", 1)[0] if " " in text else text[:MAX_CHARS]
    return cut.rstrip(",;:-、")


def _bare(word: str) -> str:
    return word.lower().strip(".,!?…;:'\"-")
