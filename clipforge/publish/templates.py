"""The words that go with a clip: per-streamer templates for the YouTube title and
description and the X post, filled from the clip and its stream.

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
}
PRIVACY = ("public", "unlisted", "private")
TITLE_MAX, DESCRIPTION_MAX, POST_MAX = 100, 5000, 280  # the platforms' limits
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
    if len(text) > POST_MAX:
        text = text[:POST_MAX - 1].rsplit(" ", 1)[0] + "…"
    return {"text": text}
