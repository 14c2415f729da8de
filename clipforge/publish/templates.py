"""The words that go with a clip: per-streamer templates for the YouTube title and
description, the X post and the TikTok and Instagram captions, filled from the clip and
its stream, with each platform's own choices (TikTok: direct post or draft, privacy;
Instagram: share to feed).

Fields: {title} (the clip's), {streamer}, {stream_title}, {date} (the stream's, YYYY-MM-DD)
and {hashtags} (the streamer's, each with a #). An unknown field stays as written, so a
typo shows in the result instead of failing a publish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DEFAULTS = {
    "title_template": "{title}",
    "description_template": "{title}\n\nFrom {streamer}'s stream \"{stream_title}\" "
                            "({date}).\n\n{hashtags}",
    "post_template": "{title} {hashtags}",
    "tiktok_template": "{title} {hashtags}",
    "instagram_template": "{title}\n\n{hashtags}",
}
PRIVACY = ("public", "unlisted", "private")
TIKTOK_MODES = ("direct", "draft")  # post at once, or to the creator's inbox to finish
TIKTOK_PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                  "SELF_ONLY")
TITLE_MAX, DESCRIPTION_MAX, POST_MAX = 100, 5000, 280  # the platforms' limits
CAPTION_MAX = 2200  # TikTok's and Instagram's caption limit (characters)
HASHTAGS_MAX = 30  # Instagram refuses a caption with more
FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Fields:
    title: str
    streamer: str
    stream_title: str
    date: str
    hashtags: list[str]


def hashtags(raw: object) -> list[str]:
    """'gaming, #clips  fps' → ['#gaming', '#clips', '#fps']."""
    words = re.split(r"[\s,]+", str(raw or ""))
    return ["#" + w.lstrip("#") for w in words if w.lstrip("#")]


def fill(template: str, fields: Fields) -> str:
    values = {"title": fields.title, "streamer": fields.streamer,
              "stream_title": fields.stream_title, "date": fields.date,
              "hashtags": " ".join(fields.hashtags)}
    text = FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return re.sub(r"[ \t]+\n", "\n", re.sub(r"[ \t]{2,}", " ", text)).strip()


def youtube(settings: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """title, description (with #Shorts), tags and privacy for YouTube."""
    title = fill(str(settings.get("title_template") or DEFAULTS["title_template"]), fields)
    title = re.sub(r"[<>]", "", title)[:TITLE_MAX].strip() or fields.title[:TITLE_MAX]
    description = fill(str(settings.get("description_template")
                           or DEFAULTS["description_template"]), fields)
    if "#shorts" not in (title + " " + description).lower():
        description = f"{description}\n#Shorts".strip()
    tags = [t.lstrip("#") for t in fields.hashtags] + [fields.streamer, "Shorts"]
    privacy = str(settings.get("privacy") or "public")
    return {"title": title, "description": description[:DESCRIPTION_MAX].replace("<", "")
            .replace(">", ""), "tags": list(dict.fromkeys(t for t in tags if t)),
            "privacy": privacy if privacy in PRIVACY else "private"}  # never public by typo


def post(settings: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The X post's text, cut at a word to fit 280 characters."""
    text = fill(str(settings.get("post_template") or DEFAULTS["post_template"]), fields)
    return {"text": _cut(text, POST_MAX)}


def tiktok(settings: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The TikTok caption, and whether it is posted at once (with which privacy) or sent
    to the creator's inbox as a draft."""
    text = fill(str(settings.get("tiktok_template") or DEFAULTS["tiktok_template"]), fields)
    mode = str(settings.get("tiktok_mode") or "direct")
    privacy = str(settings.get("tiktok_privacy") or "PUBLIC_TO_EVERYONE")
    return {"text": _cut(text, CAPTION_MAX),
            "mode": mode if mode in TIKTOK_MODES else "draft",
            "privacy": privacy if privacy in TIKTOK_PRIVACY else "SELF_ONLY"}


def instagram(settings: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The Reel's caption, and whether the Reel also shows in the feed."""
    text = fill(str(settings.get("instagram_template") or DEFAULTS["instagram_template"]),
                fields)
    share = settings.get("instagram_share_to_feed")
    return {"text": _cut(text, CAPTION_MAX), "share_to_feed": share is not False}


def _cut(text: str, limit: int) -> str:
    """Cut at a word, with an ellipsis, to fit `limit` characters."""
    if len(text) > limit:
        text = text[:limit - 1].rsplit(" ", 1)[0] + "…"
    return text
