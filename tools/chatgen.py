"""Chat replays with a chosen lag, for a generated stream's planted moments.

A steady trickle of ordinary messages, a burst of hype `lag` seconds after each
highlight, and a burst of bot spam (no event) at each given spam time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

USERS = ["pixelpete", "mossy", "kayla_gg", "drift", "nightowl", "tomtom", "zed", "ash"]
CALM = ["hi", "hello chat", "nice", "what game is this", "gl", "o7", "true", "go left",
        "hydrate", "first time here", "lol", "love this map"]
HYPE = ["PogChamp", "KEKW", "LUL", "OMEGALUL", "no way", "W", "POGGERS", "CLIP IT",
        "KEKW KEKW", "insane", "LETS GO"]
SPAM = ["follow my channel", "cheap followers at example dot com", "check my profile",
        "free skins link in bio"]


def make_chat(duration: float, highlights: list[float], lag: float,
              spam_at: list[float] | None = None, seed: int = 0,
              base_rate: float = 0.7) -> list[dict]:
    rng = np.random.default_rng(seed)
    messages = []
    t = rng.exponential(1 / base_rate)
    while t < duration:
        messages.append(_message(rng, t, CALM))
        t += rng.exponential(1 / base_rate)
    for start, texts in [(h + lag, HYPE) for h in highlights] + [(s, SPAM) for s in spam_at or []]:
        for _ in range(int(rng.integers(30, 45))):
            messages.append(_message(rng, start + rng.uniform(0, 5), texts))
    return sorted((m for m in messages if m["t"] < duration), key=lambda m: m["t"])


def write_chat(path: Path, messages: list[dict]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def _message(rng: np.random.Generator, t: float, texts: list[str]) -> dict:
    return {"t": round(float(t), 2), "user": str(rng.choice(USERS)),
            "text": str(rng.choice(texts))}
