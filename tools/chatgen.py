"""Chat replays with a chosen lag, for a generated stream's planted moments.

A steady trickle of ordinary messages from regulars (and a bot's announcements), a burst
of hype from many distinct viewers `lag` seconds after each highlight, and at each given
spam time a flood: copy-pasted text from a handful of accounts (`spam_accounts`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

USERS = ["pixelpete", "mossy", "kayla_gg", "drift", "nightowl", "tomtom", "zed", "ash"]
BOTS = ["Nightbot", "StreamElements"]
CALM = ["hi", "hello chat", "nice", "what game is this", "gl", "o7", "true", "go left",
        "hydrate", "first time here", "lol", "love this map"]
HYPE = ["PogChamp", "KEKW", "LUL", "OMEGALUL", "no way", "W", "POGGERS", "CLIP IT",
        "KEKW KEKW", "insane", "LETS GO", "jajaja", "kkkkkk", "www", "草", "xD", "lmao"]
SPAM = ["follow my channel for the best gaming content every single day",
        "cheap followers and viewers at example dot com best prices",
        "check my profile for free skins and a giveaway right now",
        "this streamer is the best streamer on the whole platform no cap"]
BOT_LINES = ["Follow the channel to get notified!", "Join the Discord: example.com/discord"]
VIEWERS = 600  # distinct viewers a hype burst draws from


def make_chat(duration: float, highlights: list[float], lag: float,
              spam_at: list[float] | None = None, seed: int = 0,
              base_rate: float = 0.7, spam_accounts: int = 4,
              burst: tuple[int, int] = (30, 45)) -> list[dict]:
    rng = np.random.default_rng(seed)
    messages = []
    t = rng.exponential(1 / base_rate)
    while t < duration:
        messages.append(_message(rng, t, CALM, USERS))
        t += rng.exponential(1 / base_rate)
    messages += [{"t": round(float(b), 2), "user": str(rng.choice(BOTS)),
                  "text": str(rng.choice(BOT_LINES))} for b in np.arange(45, duration, 90)]
    viewers = [f"viewer{i}" for i in range(VIEWERS)]
    for h in highlights:
        for _ in range(int(rng.integers(*burst))):
            messages.append(_message(rng, h + lag + rng.uniform(0, 5), HYPE, viewers))
    for s in spam_at or []:
        messages += flood(rng, s, spam_accounts)
    return sorted((m for m in messages if m["t"] < duration), key=lambda m: m["t"])


def flood(rng: np.random.Generator, start: float, accounts: int) -> list[dict]:
    """Copy-paste spam: a few accounts pasting the same lines, several times a second."""
    names = [f"spam{int(rng.integers(10_000))}" for _ in range(accounts)]
    texts = list(rng.choice(SPAM, size=2, replace=False))
    return [_message(rng, start + rng.uniform(0, 6), texts, names)
            for _ in range(int(rng.integers(45, 70)))]


def write_chat(path: Path, messages: list[dict]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def _message(rng: np.random.Generator, t: float, texts: list[str], users: list[str]) -> dict:
    return {"t": round(float(t), 2), "user": str(rng.choice(users)),
            "text": str(rng.choice(texts))}
