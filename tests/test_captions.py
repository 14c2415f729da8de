"""Caption pages, timing and escaping."""

from __future__ import annotations

from clipforge.analysis import captions
from clipforge.domain import Word


def words_of(text: str, start: float = 10.0) -> list[Word]:
    return [Word(start + i * 0.5, start + i * 0.5 + 0.4, w, 0.9)
            for i, w in enumerate(text.split())]


def test_pages_hold_at_most_two_short_lines() -> None:
    ws = words_of("this sentence is long enough to need more than a single page of captions. ok")
    for page in captions.pages(ws):
        assert 1 <= len(page) <= captions.MAX_LINES
        for line in page:
            assert len(" ".join(w.word for w in line)) <= captions.LINE_CHARS or len(line) == 1


def test_one_event_per_word_with_that_word_highlighted() -> None:
    ws = words_of("and you always want to see it")
    subs = captions.build(ws, 10.0, 20.0)
    assert len(subs) == len(ws)
    for event, word in zip(subs, ws, strict=True):
        assert f"}}{word.word}{{\\r}}" in event.text
        assert abs(event.start / 1000 - (word.start - 10.0)) < 0.002
    starts = [e.start for e in subs]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(subs, list(subs)[1:], strict=False))


def test_words_outside_the_clip_are_left_out_and_times_clamped() -> None:
    ws = words_of("one two three four five six", start=9.0)
    subs = captions.build(ws, 10.0, 11.0)
    assert all(0 <= e.start <= e.end <= 1000 for e in subs)
    assert {e.plaintext.split()[0] for e in subs} <= {"one", "two", "three", "four", "five"}


def test_override_characters_are_escaped() -> None:
    subs = captions.build(words_of(r"hack {\pos(0,0)} me"), 10.0, 20.0)
    for event in subs:
        assert "\\pos" not in event.text and "{\\p" not in event.text
