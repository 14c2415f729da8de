"""A person's caption edits, kept per heard word.

An edit names a heard word by its start time in the stream and says what the captions
show instead: other text (several words share the heard word's time), or nothing (the
word is dropped). Keyed by time, an edit keeps its timing through any trim: trimmed out,
the word is not shown; lengthened back, it is shown edited again.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from clipforge.domain import Word

MATCH = 0.05  # s: an edit belongs to the heard word starting this close to its time

Edit = dict[str, Any]  # {"start": seconds in the stream, "word": text shown}


def _find(words: list[Word], at: float) -> int | None:
    best = min(range(len(words)), key=lambda i: abs(words[i].start - at), default=None)
    if best is None or abs(words[best].start - at) > MATCH:
        return None
    return best


def edited_text(words: list[Word], edits: list[Edit] | None) -> list[str]:
    """What each heard word shows: its edit's text, else what was heard."""
    shown = [w.word for w in words]
    for edit in edits or []:
        i = _find(words, float(edit["start"]))
        if i is not None:
            shown[i] = str(edit["word"]).strip()
    return shown


def apply_edits(words: list[Word], edits: list[Edit] | None) -> list[Word]:
    """The words as the captions show them, each in its heard word's time; a word edited
    into several shares that time evenly, one edited to nothing is left out."""
    if not edits:
        return words
    result = []
    for heard, text in zip(words, edited_text(words, edits), strict=True):
        parts = text.split()
        step = (heard.end - heard.start) / max(len(parts), 1)
        result += [Word(heard.start + i * step, heard.start + (i + 1) * step, part,
                        heard.probability) for i, part in enumerate(parts)]
    return result


def merge(words: list[Word], edits: list[Edit] | None, changed: list[Edit]) -> list[Edit]:
    """Stored edits with new ones over them (by the heard word they name); an edit back to
    what was heard is no edit. Edits naming no heard word are refused by the caller."""
    kept = {round(words[i].start, 3): str(e["word"]).strip()
            for e in [*(edits or []), *changed] if (i := _find(words, float(e["start"])))
            is not None}
    heard = {round(w.start, 3): w.word for w in words}
    return [{"start": at, "word": text} for at, text in sorted(kept.items())
            if text != heard[at]]


def unknown(words: list[Word], changed: list[Edit]) -> list[float]:
    """Times of edits that name no heard word."""
    return [float(e["start"]) for e in changed if _find(words, float(e["start"])) is None]


def from_text(words: list[Word], shown: list[str], text: str) -> list[Edit]:
    """Edits that make the captions of `words` (now showing `shown`, one entry per heard
    word) read `text`. The typed words are aligned with the shown ones, so an unchanged
    word keeps its own time, a changed one its heard word's, an added one joins its
    neighbour and a removed one is dropped: nothing is spread over the clip."""
    typed = text.split()
    if not words:
        return []
    target = list(shown)
    matcher = SequenceMatcher(a=[s.lower() for s in shown], b=[t.lower() for t in typed],
                              autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        new = typed[b0:b1]
        if a1 == a0:  # inserted: joins the word before (or the first word)
            at = max(a0 - 1, 0)
            target[at] = " ".join([target[at], *new] if a0 else [*new, target[at]])
            continue
        span = a1 - a0  # replaced or deleted: the new words go over the old ones in order
        for k in range(span):
            chunk = new[k * len(new) // span:(k + 1) * len(new) // span]
            target[a0 + k] = " ".join(chunk)
    return [{"start": w.start, "word": t} for w, t in zip(words, target, strict=True)]
