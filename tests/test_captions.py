"""Caption pages, timing and escaping."""

from __future__ import annotations

from clipforge.analysis import captions, subtitles, word_edits
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


# --- a person's edits keep each word's time (issue 17) ------------------------------------

def test_a_word_edit_keeps_its_time_through_a_trim() -> None:
    ws = words_of("so here we are and then lets go")  # 10.0 .. 13.9
    edits = word_edits.merge(ws, None, [{"start": ws[6].start, "word": "Let's"}])
    assert edits == [{"start": ws[6].start, "word": "Let's"}]
    shown = word_edits.apply_edits(ws, edits)
    trimmed = captions.build(shown, 12.0, 14.0)  # "so here we are" trimmed away
    texts = [e.plaintext for e in trimmed]
    assert not any("here" in t for t in texts)
    lets = next(e for e in trimmed if "}Let's{\\r}" in e.text)  # highlighted
    assert abs(lets.start / 1000 - (ws[6].start - 12.0)) < 0.002  # its own time, not spread


def test_caption_text_is_aligned_with_the_words_heard() -> None:
    ws = words_of("we did it chat lets go")
    edits = word_edits.from_text(ws, [w.word for w in ws], "we did it, chat! let's go go")
    shown = word_edits.apply_edits(ws, edits)
    assert [w.word for w in shown] == ["we", "did", "it,", "chat!", "let's", "go", "go"]
    assert shown[0].start == ws[0].start and shown[1].start == ws[1].start  # unchanged words
    assert shown[4].start == ws[4].start  # a changed word: the heard word's time
    assert ws[5].start <= shown[6].start < ws[5].end  # an added word joins its neighbour
    dropped = word_edits.apply_edits(ws, word_edits.from_text(ws, [w.word for w in ws],
                                                              "we did it lets go"))
    assert [w.word for w in dropped] == ["we", "did", "it", "lets", "go"]
    assert dropped[3].start == ws[4].start


def test_an_edit_back_to_the_heard_word_is_no_edit() -> None:
    ws = words_of("one two three")
    edits = word_edits.merge(ws, [{"start": ws[1].start, "word": "2"}],
                             [{"start": ws[1].start, "word": "two"}])
    assert edits == []
    assert word_edits.unknown(ws, [{"start": 99.0, "word": "x"}]) == [99.0]


def test_srt_and_vtt_cues_are_the_pages_timed_from_the_clip_start() -> None:
    ws = words_of("first words here. then more words")
    found = subtitles.cues(ws, 11.0, 14.0)
    assert found and all(0 <= c.start < c.end <= 3.0 for c in found)
    assert found[0].text.startswith("here")  # words before the clip are not in it
    srt = subtitles.srt(found)
    assert srt.startswith("1\n00:00:00,") and " --> " in srt
    assert subtitles.vtt(found).startswith("WEBVTT\n\n00:00:00.")
