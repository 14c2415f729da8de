"""What is said, as setup and payoff: per-second transcript features.

* `payoff`: an exclamation (a sentence ending in "!" or carrying two hype words) after
  CALM seconds without one, and what is said right after a question or a setup ("watch
  this", "mirad esto": the language's setup cues): the moment a setup pays off, not the
  tenth shout in a row.
* `chat_echo`: the streamer's words that chat repeats. Distinct chatters who, within
  ECHO_REACH seconds after a sentence (chat lag removed), use one of its content words:
  people quoting what was just said.
"""

from __future__ import annotations

import numpy as np

from clipforge.analysis import scripts
from clipforge.analysis.bounds import Sentence
from clipforge.domain import ChatMessage

CALM = 8.0  # seconds without an exclamation before one counts as a payoff
ANSWER_WITHIN = 3.0
ECHO_REACH = 12.0
PAYOFF = 3.0  # the feature's value on a payoff's seconds (a z-like scale)
ANSWER = 1.5
CONTENT_MIN = 4  # letters in a word worth echoing
COMMON = frozenset(
    "that this with what have they there their about just like been were will would "
    "could should really think going know right okay yeah well from your into some "
    "then them than when here very much more".split())


plain_words = scripts.plain_words  # titles and semantics agree on what a word is


def exclaimed(sentence: Sentence, lexicon: frozenset[str]) -> bool:
    hype = scripts.count_terms(sentence.text, lexicon)
    return sentence.text.rstrip().endswith(("!", "！")) or hype >= 2


def set_up(sentence: Sentence, setup: frozenset[str]) -> bool:
    """A question, or a setup cue ("watch this"): what follows it may pay it off."""
    return sentence.text.rstrip().endswith(("?", "？")) or \
        scripts.count_terms(sentence.text, setup) > 0


def payoff(spoken: list[Sentence], seconds: int, lexicon: frozenset[str],
           setup: frozenset[str] = frozenset()) -> np.ndarray:
    values = np.zeros(seconds)
    last_exclaimed = -np.inf
    for i, sentence in enumerate(spoken):
        value = 0.0
        if exclaimed(sentence, lexicon):
            if sentence.start - last_exclaimed >= CALM:
                value = PAYOFF
            last_exclaimed = sentence.end
        elif i and set_up(spoken[i - 1], setup) \
                and sentence.start - spoken[i - 1].end <= ANSWER_WITHIN:
            value = ANSWER
        _mark(values, sentence, value)
    return values


def chat_echo(spoken: list[Sentence], chat: list[ChatMessage], lag: int,
              seconds: int) -> np.ndarray:
    values = np.zeros(seconds)
    times = np.array([m.t for m in chat])
    for sentence in spoken:
        content = {w for w in plain_words(sentence.text) if len(w) >= CONTENT_MIN} - COMMON
        if not content or not len(times):
            continue
        lo, hi = np.searchsorted(times, [sentence.start + lag,
                                         sentence.end + lag + ECHO_REACH])
        people = {m.user.lower() for m in chat[lo:hi] if content & set(plain_words(m.text))}
        _mark(values, sentence, min(5.0, len(people) / 2))
    return values


def _mark(values: np.ndarray, sentence: Sentence, value: float) -> None:
    if value <= 0:
        return
    span = slice(max(0, int(sentence.start)), min(len(values), int(np.ceil(sentence.end))))
    values[span] = np.maximum(values[span], value)
