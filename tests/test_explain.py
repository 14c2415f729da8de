"""A clip's 0-100 score and its one plain-language reason (analysis/explain.py), from
several sets of reasons as analysis/score.py makes them."""

from __future__ import annotations

import pytest

from clipforge.analysis.explain import explain, score_100


def test_chat_exploding_right_after_a_loud_reaction_names_the_viewers() -> None:
    reasons = {"chat_people": 4.2, "loudness": 2.1, "chat_reactions": 0.9, "pitch": 0.3}
    found = explain(reasons, sum(reasons.values()), chatters=86)
    assert found.reason == "Chat exploded (86 viewers) right after a loud reaction"
    assert found.main == "chat_people"
    assert 0 < found.score <= 100


def test_a_loud_moment_with_some_chat_is_said_from_the_stream_side() -> None:
    reasons = {"loudness": 2.4, "chat_people": 1.0, "shot_cuts": 0.2}
    found = explain(reasons, 3.6, chatters=12)
    assert found.reason == "A loud reaction, with chat picking up (12 viewers)"


def test_without_chat_the_two_strongest_stream_signals_join() -> None:
    reasons = {"loud_nonspeech": 2.0, "pitch": 1.5, "faces": 0.1}
    assert explain(reasons, 3.6).reason == \
        "Screams, laughter or cheers and an excited voice"


def test_a_weak_second_signal_is_left_out_and_no_count_without_chat_numbers() -> None:
    reasons = {"chat_people": 3.5, "loudness": 0.4, "chat_laughter": 1.0}
    assert explain(reasons, 4.9).reason == "Chat exploded"
    assert explain(reasons, 4.9, chatters=1).reason == "Chat exploded (1 viewer)"


def test_old_chat_names_and_unknown_features_still_read() -> None:
    assert explain({"chat_rate": 1.2}, 1.2).reason == "Chat picked up"
    assert explain({"chat_emotes": 2.0}, 2.0).reason == "Chat flooded with reactions"
    assert explain({"crowd_noise": 2.0}, 2.0).reason == "Crowd noise"


def test_nothing_positive_is_said_so() -> None:
    found = explain({"loudness": 0.0, "pitch": -1.0, "keywords": float("nan")}, 0.0)
    assert (found.reason, found.main, found.score) == ("No single signal stood out", None, 0)


@pytest.mark.parametrize(("score", "expected"), [
    (0.0, 0), (-2.0, 0), (1.0, 18), (5.0, 63), (7.1, 76), (15.0, 95), (1e6, 100)])
def test_the_score_saturates_on_a_0_to_100_scale(score: float, expected: int) -> None:
    assert score_100(score) == expected
