"""Scoring and clip bounds on hand-built per-second features (golden behaviour)."""

from __future__ import annotations

import numpy as np

from clipforge.analysis import bounds, score, signals
from clipforge.domain import ChatMessage, Segment, Word
from clipforge.jobs.score import fewer_than_asked


def talk(start: float, text: str, gap: float = 0.8) -> list[Segment]:
    """Sentences of 0.3 s words separated by `gap` seconds, from `start`."""
    segments, t = [], start
    for sentence in text.split("|"):
        words = []
        for token in sentence.split():
            words.append(Word(t, t + 0.3, token, 0.9))
            t += 0.4
        segments.append(Segment(words[0].start, words[-1].end, sentence, words))
        t += gap
    return segments


def calm_audio(seconds: int, rng: np.random.Generator) -> signals.AudioSignals:
    return signals.AudioSignals(
        loudness=-30 + rng.normal(0, 1, seconds),
        brightness=1500 + rng.normal(0, 50, seconds),
        flatness=0.2 + rng.normal(0, 0.01, seconds),
    )


def test_sentences_split_on_punctuation_and_pauses() -> None:
    segs = talk(0, "one two three.|four five six|seven eight.", gap=1.2)
    spoken = bounds.sentences(segs)
    assert [s.text for s in spoken] == ["one two three.", "four five six", "seven eight."]


def test_bounds_land_on_sentences_within_limits() -> None:
    text = "|".join(f"this is calm sentence number {i}." for i in range(40))
    segs = talk(0, text)
    words = [w for s in segs for w in s.words]
    spoken = bounds.sentences(segs)
    for peak in (30.0, 60.0, 95.0):
        start, end = bounds.clip_bounds(peak, spoken, words, 15, 40, 150.0)
        assert 15 <= end - start <= 40 + 0.7
        assert start < peak < end
        starts = [s.start for s in spoken]
        ends = [s.end for s in spoken]
        assert min(abs(start + bounds.PAD_BEFORE - s) for s in starts) < 0.01
        assert min(abs(end - bounds.PAD_AFTER - e) for e in ends) < 0.01
        for w in words:  # never inside a word
            assert not (w.start < start < w.end) and not (w.start < end < w.end)


def test_one_long_sentence_is_cut_between_words() -> None:
    segs = talk(0, " ".join(["word"] * 200))
    words = [w for s in segs for w in s.words]
    start, end = bounds.clip_bounds(40.0, bounds.sentences(segs), words, 15, 30, 100.0)
    assert end - start <= 30 + 0.7
    for w in words:
        assert not (w.start < end - 0.01 < w.end - 0.02)


def test_loud_moment_with_chat_burst_wins_and_reasons_add_up() -> None:
    rng = np.random.default_rng(1)
    seconds = 300
    audio = calm_audio(seconds, rng)
    audio.loudness[200:204] += 15  # the highlight
    audio.brightness[200:204] += 900
    chat = [ChatMessage(float(t), "u", "hi") for t in range(0, seconds, 2)]
    chat += [ChatMessage(205 + i * 0.1, f"viewer{i}", "KEKW") for i in range(40)]
    inputs = score.Inputs(
        seconds=seconds, audio=audio,
        segments=talk(1, "|".join(f"we talk about thing {i}." for i in range(120))),
        chat=signals.chat_signals(chat, seconds),
    )
    clips, lag = score.pick(inputs, top=3, min_len=15, max_len=45)
    assert clips and clips[0].start < 201 < clips[0].end
    assert 3 <= lag <= 7
    for clip in clips:
        assert abs(sum(clip.reasons.values()) - clip.score) < 0.01
    assert "loudness" in clips[0].reasons and "chat_people" in clips[0].reasons
    spans = sorted((c.start, c.end) for c in clips)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlap
    assert [c.rank for c in clips] == list(range(1, len(clips) + 1))
    # Best first: the rank follows the reported score, not the order peaks were picked in.
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)


def test_chat_lag_is_recovered() -> None:
    rng = np.random.default_rng(2)
    excitement = rng.normal(0, 0.2, 600)
    for t in (100, 250, 400, 520):
        excitement[t:t + 3] += 5
    for lag in (2, 5, 10):
        chat = np.concatenate([np.zeros(lag), excitement[:-lag]]) * 3 + rng.poisson(1, 600)
        assert abs(signals.estimate_chat_lag(chat, excitement) - lag) <= 1


def test_robust_z_ignores_a_steady_level() -> None:
    quiet = np.full(200, -40.0)
    loud = np.full(200, -10.0)
    assert score.robust_z(quiet).max() == 0
    assert score.robust_z(loud).max() == 0


def test_hype_words_match_whole_words_and_are_configurable() -> None:
    segs = talk(0, "whatever happens we stay calm.|oh my god no way!")
    hits = score._keyword_hits(segs, 10, score.HYPE_LEXICON)
    assert hits[:2].sum() == 0  # "whatever" is not "what"
    assert hits[2:].sum() > 0
    custom = score._keyword_hits(segs, 10, frozenset({"calm"}))
    assert custom[:2].sum() > 0 and custom[2:].sum() == 0


def test_settings_take_word_lists_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from clipforge.config import Settings

    monkeypatch.setenv("CLIPFORGE_EMOTES", '["Pog", "Sadge"]')
    monkeypatch.setenv("CLIPFORGE_HYPE_WORDS", '{"en": ["pineapple"]}')
    settings = Settings()
    assert settings.emotes == ["Pog", "Sadge"]
    assert settings.hype_words == {"en": ["pineapple"]}


def test_cascade_looks_everywhere_when_cheap_signals_are_flat() -> None:
    from clipforge.analysis import cascade

    flat = signals.AudioSignals(np.full(300, -30.0), np.full(300, 1500.0), np.full(300, 0.2))
    assert cascade.windows(flat, None, 300, 5, 60, score.DEFAULT_WEIGHTS) == [(0.0, 300.0)]
    loud = signals.AudioSignals(flat.loudness.copy(), flat.brightness, flat.flatness)
    loud.loudness[150:153] += 20
    spans = cascade.windows(loud, None, 300, 5, 30, score.DEFAULT_WEIGHTS)
    assert len(spans) == 1  # one peak: one window around it, wide enough for a clip
    start, end = spans[0]
    assert start <= 150 - 30 and end >= 153 + 30 and end - start < 300


def test_an_exclamation_after_calm_is_a_payoff_and_chat_echoes_words() -> None:
    from clipforge.analysis import semantics

    segs = talk(0, "we walk to the old harbour.|is the bridge still there?|"
                   "yes it is.|we keep walking.|oh my god the bridge is gone!|no way!")
    spoken = bounds.sentences(segs)
    payoff = semantics.payoff(spoken, 40, score.HYPE_LEXICON)
    exclaim, shout_again = spoken[4], spoken[5]
    assert payoff[int(exclaim.start)] == semantics.PAYOFF  # calm before: a payoff
    assert payoff[int(spoken[2].start) + 1] == semantics.ANSWER  # the question's answer
    assert payoff[int(np.ceil(shout_again.end)) - 1] < semantics.PAYOFF  # right after: not
    assert payoff[: int(spoken[1].end)].sum() == 0
    chat = [ChatMessage(exclaim.end + 2 + i * 0.1, f"viewer{i}", "the BRIDGE lol")
            for i in range(10)]
    echo = semantics.chat_echo(spoken, chat, lag=0, seconds=40)
    assert echo[int(exclaim.start)] > 0 and echo[: int(spoken[0].end)].sum() == 0


def test_fewer_clips_than_asked_say_why() -> None:
    short = fewer_than_asked(2, 5, 50.0, 15.0)
    assert short.startswith("Fewer clips than asked: 2 of 5")
    assert "room for 3 clips of at least 15 s" in short
    quiet = fewer_than_asked(3, 5, 600.0, 15.0)
    assert "only 3 moments rose above the rest" in quiet
