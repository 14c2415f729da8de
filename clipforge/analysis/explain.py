"""A clip's score on a 0-100 scale and one plain-language reason, from its `reasons` (each
feature's contribution to the score, analysis/score.py): what a person reads before the
raw numbers, e.g. "Chat exploded (86 viewers) right after a loud reaction"."""

from __future__ import annotations

import math
from dataclasses import dataclass

# The fused score at which the 0-100 scale reaches 63 (1 - 1/e): a clearly picked moment.
# Scores saturate: a moment twice as strong is not twice as good to a viewer.
SCALE = 5.0
STRONG = 3.0  # a contribution this large (a z-score of 3 at weight 1) is "exploded", "very"
SECOND_SHARE = 0.25  # the other side (chat or stream) must add this share of the main one
SAME_SIDE_SHARE = 0.5  # a second signal of the same side, this share, joins with "and"
RENAMED = {"chat_rate": "chat_people", "chat_emotes": "chat_reactions"}  # before issue 18

# feature: (as the reason's subject, as a following phrase); {n} is " (86 viewers)".
PHRASES: dict[str, tuple[str, str]] = {
    "loudness": ("A loud reaction", "a loud reaction"),
    "loud_nonspeech": ("Screams, laughter or cheers", "screams or laughter"),
    "pitch": ("The voice shot up in excitement", "an excited voice"),
    "brightness": ("A sharp burst of sound", "a sharp burst of sound"),
    "speech_rate": ("Rapid-fire talking", "rapid-fire talking"),
    "keywords": ("Hype words said out loud", "hype words"),
    "payoff": ("A payoff after a calm build-up", "a payoff after a build-up"),
    "shot_cuts": ("Fast cuts on screen", "fast cuts on screen"),
    "faces": ("The streamer on camera", "the streamer on camera"),
    "chat_people": ("Chat picked up{n}", "chat picking up{n}"),
    "chat_reactions": ("Chat flooded with reactions", "a flood of chat reactions"),
    "chat_laughter": ("Chat burst out laughing", "chat laughing"),
    "chat_newcomers": ("New viewers piled into chat", "new chatters"),
    "chat_echo": ("Chat repeated the streamer's words", "chat echoing the streamer"),
}
STRONGER: dict[str, tuple[str, str]] = {
    "chat_people": ("Chat exploded{n}", "chat exploding{n}"),
    "loudness": ("A very loud reaction", "a very loud reaction"),
}


@dataclass(frozen=True)
class Explanation:
    score: int  # 0..100
    reason: str  # one sentence, no full stop
    main: str | None  # the feature that says most (None: nothing contributed)


def score_100(score: float) -> int:
    """The fused score (a sum of contributions, 0 and up) on a 0-100 scale."""
    return max(0, min(100, round(100 * (1 - math.exp(-max(score, 0.0) / SCALE)))))


def explain(reasons: dict[str, float], score: float, chatters: int | None = None
            ) -> Explanation:
    """The score out of 100 and the reason a person would give: the feature that
    contributed most, and the strongest one from the other side (what the streamer did,
    what chat did) when it added enough. CHATTERS: how many people wrote in chat during
    the clip, when known."""
    found = _contributions(reasons)
    if not found:
        return Explanation(score_100(score), "No single signal stood out", None)
    main, top = found[0]
    text = _phrase(main, top, chatters, 0)
    other = [(k, v) for k, v in found[1:] if _is_chat(k) != _is_chat(main)]
    same = [(k, v) for k, v in found[1:] if _is_chat(k) == _is_chat(main)]
    if other and other[0][1] >= SECOND_SHARE * top:
        key, value = other[0]
        # Chat reacts to the stream: it comes after what happened, never before.
        link = " right after " if _is_chat(main) else ", with "
        text += link + _phrase(key, value, chatters, 1)
    elif same and same[0][1] >= SAME_SIDE_SHARE * top:
        text += " and " + _phrase(same[0][0], same[0][1], chatters, 1)
    return Explanation(score_100(score), text, main)


def _contributions(reasons: dict[str, float]) -> list[tuple[str, float]]:
    """Positive, finite contributions under today's names, largest first."""
    merged: dict[str, float] = {}
    for key, value in reasons.items():
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            name = RENAMED.get(key, key)
            merged[name] = merged.get(name, 0.0) + float(value)
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


def _is_chat(feature: str) -> bool:
    return feature.startswith("chat_")


def _phrase(feature: str, value: float, chatters: int | None, form: int) -> str:
    phrases = STRONGER.get(feature) if value >= STRONG else None
    phrases = phrases or PHRASES.get(feature)
    if phrases is None:  # a feature added after this table: its own name
        name = feature.replace("_", " ")
        return name.capitalize() if form == 0 else name
    count = ""
    if chatters:
        count = f" ({chatters} viewer{'s' if chatters != 1 else ''})"
    return phrases[form].format(n=count)
