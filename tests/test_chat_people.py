"""Chat is counted by people: floods from a few accounts, copy-paste and bots count little."""

from __future__ import annotations

import numpy as np
import pytest

from clipforge.analysis import chatsignals, score, signals
from clipforge.domain import ChatMessage
from tests.test_bounds_and_score import calm_audio, talk

SECONDS = 600
REGULARS = [f"regular{i}" for i in range(8)]


def trickle(rng: np.random.Generator) -> list[ChatMessage]:
    """Ordinary chat: about one message every 1.5 s from eight regulars."""
    times = np.cumsum(rng.exponential(1.5, 500))
    texts = ["hi", "nice", "what game is this", "go left", "o7", "how long is the stream"]
    return [ChatMessage(float(t), str(rng.choice(REGULARS)), str(rng.choice(texts)))
            for t in times if t < SECONDS]


def reaction(start: float, people: int, rng: np.random.Generator) -> list[ChatMessage]:
    """PEOPLE distinct viewers react once each within 5 s."""
    texts = ["KEKW", "LUL", "no way", "jajaja", "草", "W", "OMEGALUL", "lmao"]
    return [ChatMessage(start + float(rng.uniform(0, 5)), f"viewer{i}", str(rng.choice(texts)))
            for i in range(people)]


def copypasta(start: float, accounts: int, messages: int,
              rng: np.random.Generator) -> list[ChatMessage]:
    """A flood: ACCOUNTS accounts paste the same long line MESSAGES times within 6 s."""
    text = "check out my channel for the best gaming content every single day"
    return [ChatMessage(start + float(rng.uniform(0, 6)), f"spammer{i % accounts}", text)
            for i in range(messages)]


def scored(chat: list[ChatMessage]) -> tuple[list, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    inputs = score.Inputs(
        seconds=SECONDS, audio=calm_audio(SECONDS, rng),
        segments=talk(1, "|".join(f"we talk about thing {i}." for i in range(240))),
        chat=signals.chat_signals(chat, SECONDS), chat_lag=0)
    clips, _ = score.pick(inputs, top=3, min_len=15, max_len=40)
    table, _ = score.feature_table(inputs)
    return clips, table


def chat_score(table: dict[str, np.ndarray], at: int) -> float:
    chat = sum(score.DEFAULT_WEIGHTS[n] * z for n, z in table.items() if n.startswith("chat"))
    return float(np.max(chat[at - 2: at + 8]))


def test_copypasta_from_four_accounts_scores_below_sixty_people_reacting() -> None:
    rng = np.random.default_rng(1)
    # The flood has twice the messages of the reaction: counted by message, it would win.
    chat = trickle(rng) + reaction(200, 60, rng) + copypasta(400, 4, 120, rng)
    clips, table = scored(chat)
    assert chat_score(table, 200) > 3 * chat_score(table, 400)
    assert clips[0].start <= 202 <= clips[0].end
    flood = [c for c in clips if c.start <= 403 <= c.end]
    assert all(c.score < clips[0].score / 2 for c in flood)


def test_a_reaction_beats_the_same_number_of_messages_from_one_account() -> None:
    rng = np.random.default_rng(2)
    one_account = [ChatMessage(400 + i * 0.1, "superfan", "KEKW") for i in range(60)]
    chat = trickle(rng) + reaction(200, 60, rng) + one_account
    _, table = scored(chat)
    assert chat_score(table, 200) > 3 * chat_score(table, 400)


def test_known_bots_and_commands_are_ignored() -> None:
    rng = np.random.default_rng(4)
    bots = [ChatMessage(300 + i * 0.05, name, "Follow the channel to get notified!")
            for i, name in enumerate(["Nightbot", "StreamElements", "Moobot", "Fossabot",
                                      "Streamlabs"] * 20)]
    commands = [ChatMessage(450 + i * 0.05, f"viewer{i}", "!giveaway") for i in range(80)]
    ordinary = trickle(rng)
    chat = ordinary + bots + commands
    signal, without = signals.chat_signals(chat, SECONDS), signals.chat_signals(ordinary, SECONDS)
    for name in ("rate", "people", "reactions", "newcomers"):
        assert np.array_equal(getattr(signal, name), getattr(without, name)), name
    assert signal.messages is not None
    assert not any(m.user in ("Nightbot", "Fossabot") for m in signal.messages)
    clips, _ = scored(chat)
    assert not any(c.start <= 302 <= c.end or c.start <= 452 <= c.end for c in clips)


@pytest.mark.parametrize("text", ["KEKW", "LUL", "OMEGALUL", "lol", "LOOOL", "xD", "xdd",
                                  "jajaja", "JAJAJ", "kkkkkk", "wwww", "草", "草草草", "笑",
                                  "ㅋㅋㅋ", "55555", "mdrrr", "хахаха", "hahaha", "lmaooo",
                                  "KEKW KEKW", "😂😂"])
def test_laughter_in_many_languages(text: str) -> None:
    assert chatsignals.is_laughter(text)


@pytest.mark.parametrize("text", ["hello", "what game is this", "wow", "look", "kk", "ww"])
def test_words_are_not_laughter(text: str) -> None:
    assert not chatsignals.is_laughter(text)


def test_emote_only_messages_are_reactions_and_sentences_are_not() -> None:
    emotes = chatsignals.DEFAULT_EMOTES
    said = lambda text, names=(): ChatMessage(0.0, "v", text, list(names))  # noqa: E731
    assert chatsignals.is_reaction(said("PogChamp PogChamp"), emotes)
    assert chatsignals.is_reaction(said("Sadge", ["Sadge"]), emotes)
    assert chatsignals.is_reaction(said("NO WAY!!"), emotes)
    assert not chatsignals.is_reaction(said("what settings do you use"), emotes)


def test_first_time_chatters_count_after_the_first_minutes() -> None:
    early = [ChatMessage(10.0 + i, f"early{i}", "hi") for i in range(20)]
    late = [ChatMessage(300.0 + i * 0.1, f"late{i}", "hi") for i in range(20)]
    again = [ChatMessage(400.0 + i * 0.1, f"late{i}", "hi again") for i in range(20)]
    signal = signals.chat_signals(early + late + again, SECONDS)
    assert signal.newcomers is not None
    assert signal.newcomers[:60].sum() == 0
    assert signal.newcomers[300:303].sum() == 20
    assert signal.newcomers[400:403].sum() == 0
