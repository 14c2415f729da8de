"""Titles are real phrases: the clip's punchiest sentence or chat's reaction, never a list
of keywords; and every title benchmarks/quality.py produced is a contiguous phrase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.quality import title_is_phrase
from clipforge.analysis import bounds, titles
from clipforge.domain import ChatMessage
from tests.test_bounds_and_score import talk

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_TITLES = ROOT / "benchmarks" / "titles.json"


def clip_title(text: str, chat: list[ChatMessage] | None = None) -> tuple[str, list[str]]:
    segments = talk(0, text)
    spoken = bounds.sentences(segments)
    words = [w.word for s in segments for w in s.words]
    return titles.title(spoken, 0.0, spoken[-1].end + 1, spoken[-1].end / 2, chat), words


def test_the_exclaimed_sentence_wins_over_calm_ones() -> None:
    title, words = clip_title("I forgot to save before the last fight.|"
                              "Oh my god no way that was insane!|We should go back now.")
    assert title == "Oh my god no way that was insane!"
    assert title_is_phrase(title, words, [])


def test_filler_is_trimmed_from_the_edges_and_the_rest_stays_contiguous() -> None:
    title, words = clip_title("So um what just happened?|The map is big.")
    assert title == "What just happened?"
    assert title_is_phrase(title, words, [])


def test_a_long_sentence_gives_its_punchiest_clause_within_60_characters() -> None:
    title, words = clip_title("We walked down the long road to the harbour and back again "
                              "twice, and then, no way, he hit that jump!")
    assert len(title) <= titles.MAX_CHARS and title_is_phrase(title, words, [])
    assert "jump!" in title


def test_weak_words_give_chat_s_dominant_reaction() -> None:
    chat = [ChatMessage(5.0 + i, f"viewer{i}", "NO WAY") for i in range(8)]
    chat += [ChatMessage(6.0, "viewer99", "first time here")]
    title, words = clip_title("Hello I am originally from Chicago.|Welcome to the stream.",
                              chat)
    assert title == "NO WAY"
    assert title_is_phrase(title, words, [m.text for m in chat])


def test_a_lone_emote_or_laugh_in_chat_is_no_title() -> None:
    chat = [ChatMessage(5.0 + i, f"viewer{i}", "www") for i in range(8)]
    chat += [ChatMessage(6.0 + i, f"fan{i}", "PogChamp") for i in range(6)]
    title, words = clip_title("Hello I am originally from Chicago.", chat)
    assert title == "Hello I am originally from Chicago."
    assert title_is_phrase(title, words, [])


@pytest.mark.parametrize("text", [
    "I forgot to say this before the last fight.", "Welcome to the stream, my inventory is "
    "somewhere.", "Five minutes left before the break.", "Hello, I'm originally from Chicago."])
def test_calm_speech_without_chat_is_a_sentence_never_keywords(text: str) -> None:
    title, words = clip_title(text)
    assert title_is_phrase(title, words, []) and len(title) <= titles.MAX_CHARS
    assert len(title.split()) >= 2


def test_every_benchmark_title_is_a_phrase_of_its_clip_or_its_chat() -> None:
    """benchmarks/titles.json: every title `python -m benchmarks.quality --titles` wrote,
    with the words said in its clip and the chat written during it."""
    produced = json.loads(BENCHMARK_TITLES.read_text(encoding="utf-8"))
    assert produced
    bad = [t for t in produced if not title_is_phrase(t["title"], t["words"], t["chat"])
           or len(t["title"]) > titles.MAX_CHARS]
    assert not bad, bad[:3]
