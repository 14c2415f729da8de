"""A clip's caption words as the editor shows and changes them: the stream's heard words
with a person's edits (analysis/word_edits.py), in and around the clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.analysis import word_edits
from clipforge.domain import Word
from clipforge.storage.artifacts import load_transcripts
from clipforge.storage.models import ClipRow, JobRow, StreamRow

REACH = 30.0  # s either side of a clip whose words the editor offers (the trim handles' range)


@dataclass(frozen=True)
class ShownWord:
    start: float  # s in the stream: the heard word's, which names it in an edit
    end: float
    word: str  # what the captions show ("" when an edit removed it)
    heard: str  # what was said


def stream_words(s: Session, stream: StreamRow) -> list[Word]:
    """Every word the stream's current run heard, in time order."""
    transcripts = s.scalars(select(JobRow.result).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run,
        JobRow.stage == "transcribe", JobRow.status == "done").order_by(JobRow.target))
    words = [w for seg in load_transcripts([str(p) for p in transcripts]) for w in seg.words]
    return sorted(words, key=lambda w: w.start)


def shown(words: list[Word], clip: ClipRow, lo: float, hi: float) -> list[ShownWord]:
    """The words between lo and hi (s in the stream) as the clip's captions show them."""
    edits = clip.caption_edits
    if edits is None and clip.captions is not None:
        edits = _legacy_edits(words, clip)
    texts = word_edits.edited_text(words, edits)
    return [ShownWord(w.start, w.end, text, w.word) for w, text in zip(words, texts, strict=True)
            if w.end > lo and w.start < hi]


def _legacy_edits(words: list[Word], clip: ClipRow) -> list[dict[str, Any]]:
    """Edits equal to caption text stored before per-word edits, aligned with the words
    heard inside the clip."""
    inside = [w for w in words if w.end > clip.start and w.start < clip.end]
    return word_edits.from_text(inside, [w.word for w in inside], clip.captions or "")


def edit(s: Session, clip: ClipRow, changes: dict[str, Any]) -> None:
    """Turn a request's `words` (edits per heard word) and `captions` (text for the whole
    clip, as its bounds are after this request) into stored per-word edits."""
    if "words" not in changes and "captions" not in changes:
        return
    words = stream_words(s, s.get_one(StreamRow, clip.stream_id))
    edits = clip.caption_edits if clip.caption_edits is not None or clip.captions is None \
        else _legacy_edits(words, clip)
    changed = list(changes.pop("words", None) or [])
    if "captions" in changes:
        text = changes.pop("captions")
        if text is None:  # back to what was heard
            edits, changed = None, []
        else:
            start, end = changes.get("start", clip.start), changes.get("end", clip.end)
            inside = [w for w in words if w.end > start and w.start < end]
            now = word_edits.edited_text(inside, edits)
            changed += word_edits.from_text(inside, now, text)
    missing = word_edits.unknown(words, changed)
    if missing:
        raise errors.BadOption(f"words: no word was heard at {', '.join(map(str, missing))} s "
                               "of the stream; give a word's start as the clip lists it")
    clip.caption_edits = word_edits.merge(words, edits, changed) or None
    clip.captions = None
