"""Chat signals: chat counted by people, not by messages.

A moment many viewers react to is a highlight; a flood from a handful of accounts, a
copy-pasted wall of text or a bot's announcements are not. So, per second:

* `people`: chatters heard from, each counted once per PERSON_WINDOW seconds however many
  messages they send, a long message weighted down by how often the same text was already
  seen in the last COPYPASTA_WINDOW seconds (copy-paste adds little);
* `reactions`: of those, the ones whose message is only a reaction (emotes, laughter in
  any of several languages, a short hype word);
* `laughter`: of those, the ones laughing;
* `newcomers`: people writing for the first time this stream (after its first minutes,
  when everybody is new);
* `rate` and `emotes`: raw message and emote counts, kept for the timeline.

Known bots (Nightbot, StreamElements, ...) and commands ("!giveaway") are left out.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import numpy as np

from clipforge.domain import ChatMessage

PERSON_WINDOW = 5.0  # a chatter counts once per this many seconds
COPYPASTA_WINDOW = 30.0
COPYPASTA_MIN_WORDS = 4  # shorter messages are reactions, which are meant to repeat
NEWCOMER_GRACE = 120.0  # everybody is new at first: newcomers count after this

DEFAULT_EMOTES = frozenset({
    "pogchamp", "pog", "poggers", "kekw", "lul", "lulw", "omegalul", "pepelaugh",
    "monkas", "pogu", "kappa", "ez", "clap", "w", "hype", "lmao", "lol",
})

BOTS = frozenset({
    "nightbot", "streamelements", "moobot", "fossabot", "streamlabs", "wizebot",
    "botisimo", "deepbot", "phantombot", "coebot", "sery_bot", "soundalerts",
    "streamlootsbot", "kofistreambot", "pokemoncommunitygame", "own3d", "commanderroot",
    "streamstickers", "blerp", "songlistbot", "restreambot", "tangiabot",
})

# Laughter as chat writes it: Twitch emotes, English, Spanish (jaja), Portuguese (kkkk,
# rsrs), Japanese (www, 草, 笑), Korean (ㅋㅋ), Thai (555), French (mdr), Russian (ахах).
LAUGHTER = re.compile(
    r"(?:kekw|kek|lulw?|omegalul|pepelaugh|icant|lo+l+|lmf?ao+|rofl|x+d+|(?:ja){2,}j?|"
    r"(?:ha){2,}h?|(?:he){2,}|(?:ah){2,}a?|k{3,}|(?:rs){2,}|w{3,}|草+|笑+|ㅋ{2,}|ㅎ{2,}|"
    r"5{3,}|mdr+|(?:ха){2,}|(?:ах){2,}а?|😂+|🤣+)", re.IGNORECASE)
HYPE = frozenset({
    "w", "ww", "no way", "omg", "wtf", "what", "insane", "clip it", "clip", "holy",
    "lets go", "let's go", "gg", "wow", "pog", "yes", "noo", "nooo", "clutch", "omfg",
})
_TOKEN_EDGE = "!?.,:;~*'\""


@dataclass
class ChatSignals:
    rate: np.ndarray  # messages per second (bots and commands left out)
    emotes: np.ndarray  # emote tokens per second
    people: np.ndarray | None = None  # distinct chatters per second, copy-paste weighted
    reactions: np.ndarray | None = None  # distinct chatters reacting (emotes, laughter)
    laughter: np.ndarray | None = None  # distinct chatters laughing
    newcomers: np.ndarray | None = None  # first message of the stream, after the grace
    messages: list[ChatMessage] | None = None  # the counted messages, for titles

    def people_or_rate(self) -> np.ndarray:
        return self.people if self.people is not None else self.rate


def is_bot(user: str) -> bool:
    name = user.strip().lower().lstrip("@")
    return name in BOTS or name.endswith("_bot")


def normalise(text: str) -> str:
    """A message as compared for copy-paste: lower case, single spaces, no edges."""
    return " ".join(tok.strip(_TOKEN_EDGE) for tok in text.lower().split()).strip()


def is_laughter(text: str) -> bool:
    tokens = [t.strip(_TOKEN_EDGE) for t in text.split()]
    return bool(tokens) and all(LAUGHTER.fullmatch(t) for t in tokens if t)


def is_reaction(msg: ChatMessage, emotes: frozenset[str]) -> bool:
    """Only emotes, laughter or a short hype word: a reaction, not a conversation."""
    text = normalise(msg.text)
    if not text:
        return bool(msg.emotes)
    if text in HYPE or is_laughter(text):
        return True
    named = {e.lower() for e in msg.emotes}
    tokens = text.split()
    return all(t in emotes or t in named or LAUGHTER.fullmatch(t) or t in HYPE
               for t in tokens)


def chat_signals(messages: list[ChatMessage], seconds: int,
                 emotes: frozenset[str] = DEFAULT_EMOTES) -> ChatSignals:
    # Python lists while counting: numpy element updates cost more than the counting.
    counts: dict[str, list[float]] = {name: [0.0] * seconds for name in
                                      ("rate", "emotes", "people", "reactions", "laughter",
                                       "newcomers")}
    last_counted: dict[str, float] = {}
    recent_texts: dict[str, deque[float]] = {}
    kinds: dict[tuple[str, tuple[str, ...]], _Kind] = {}  # chat repeats itself: classify once
    kept: list[ChatMessage] = []
    for msg in sorted(messages, key=lambda m: m.t):
        if not 0.0 <= msg.t < seconds or is_bot(msg.user) or msg.text.lstrip().startswith("!"):
            continue
        second, user = int(msg.t), msg.user.strip().lower()
        key = (msg.text, tuple(msg.emotes))
        kind = kinds.get(key) or kinds.setdefault(key, _classify(msg, emotes))
        kept.append(msg)
        counts["rate"][second] += 1
        counts["emotes"][second] += kind.emotes
        weight = _novelty(kind.text, msg.t, recent_texts)
        if user not in last_counted and msg.t >= NEWCOMER_GRACE:
            counts["newcomers"][second] += weight
        if msg.t - last_counted.get(user, -np.inf) < PERSON_WINDOW:
            continue  # this person was already counted a moment ago
        last_counted[user] = msg.t
        counts["people"][second] += weight
        counts["reactions"][second] += kind.reaction
        counts["laughter"][second] += kind.laughter
    arrays = {name: np.array(values) for name, values in counts.items()}
    return ChatSignals(**arrays, messages=kept)


@dataclass(frozen=True)
class _Kind:
    text: str  # normalised
    emotes: int
    reaction: bool
    laughter: bool


def _classify(msg: ChatMessage, emotes: frozenset[str]) -> _Kind:
    text = normalise(msg.text)
    return _Kind(text=text, emotes=sum(tok in emotes for tok in text.split()),
                 reaction=is_reaction(msg, emotes), laughter=is_laughter(msg.text))


def _novelty(text: str, t: float, recent: dict[str, deque[float]]) -> float:
    """1 for a fresh message; 1/(k+1) for a long text already seen k times lately."""
    if text.count(" ") + 1 < COPYPASTA_MIN_WORDS:
        return 1.0
    seen = recent.setdefault(text, deque())
    while seen and t - seen[0] >= COPYPASTA_WINDOW:  # messages come in time order
        seen.popleft()
    seen.append(t)
    return 1.0 / len(seen)
