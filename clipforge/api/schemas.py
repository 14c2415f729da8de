"""Request and response bodies. Strings are bounded and free of NUL characters, numbers
finite, so nothing a client sends can reach the database in a form it rejects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


Short = Annotated[str, Field(max_length=100), AfterValidator(_no_nul)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
Title = Annotated[str, Field(max_length=300), AfterValidator(_no_nul)]
PathText = Annotated[str, Field(max_length=4096), AfterValidator(_no_nul)]
LongText = Annotated[str, Field(max_length=5000), AfterValidator(_no_nul)]
Finite = Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1e7)]
Layout = Literal["auto", "crop", "blur", "stacked"]
CaptionStyle = Literal["classic", "bold", "clean", "oneword"]
Aspect = Literal["9:16", "1:1", "16:9"]
Box = Annotated[list[Annotated[float, Field(allow_inf_nan=False, ge=0.0, le=1e5)]],
                Field(min_length=4, max_length=4, description="x, y, w, h in source pixels")]
Item = TypeVar("Item")


class Error(BaseModel):
    code: str = Field(description="Stable, for programs: e.g. not_media, not_found")
    message: str = Field(description="For people: what went wrong and what to do")
    platforms: list[str] | None = Field(default=None, description=(
        "no_account only: every platform asked for that has no connected account"))


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    offset: int


class StreamOptions(BaseModel):
    """How to process a stream; unset fields take the server's defaults."""

    model_config = ConfigDict(extra="forbid")
    top: Annotated[int, Field(ge=1, le=50)] | None = None
    layout: Layout | None = None
    min_len: Annotated[float, Field(ge=1.0, le=600.0, allow_inf_nan=False)] | None = None
    max_len: Annotated[float, Field(ge=1.0, le=600.0, allow_inf_nan=False)] | None = None
    captions: bool = True
    caption_style: CaptionStyle | None = None
    aspect: Aspect | None = None
    language: Annotated[str, Field(max_length=8, description=(
        "Spoken language: auto (detected) or a code such as en, es, pt, de, fr, ru, ja; "
        "unset: the streamer's, else the server's"))] | None = None
    streamer: Name = "default"
    full_transcript: bool = False
    chat: PathText | None = Field(default=None, description="Chat replay file on the server")


class StreamCreate(StreamOptions):
    path: PathText | None = Field(default=None, description="A file on the server")
    url: PathText | None = Field(default=None, description="A VOD URL")
    name: Name | None = None
    live: bool = Field(default=False, description=(
        "Follow `url` while it is streamed (a Twitch, YouTube or Kick live URL, or an HLS "
        "playlist) and make clips as moments happen; `chat` may then be twitch:CHANNEL, "
        "youtube (the URL's live chat) or youtube:VIDEO_ID"))
    until: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        default=None, description="live: stop after this many seconds of stream")


class StageProgress(BaseModel):
    stage: str
    status: Literal["waiting", "queued", "running", "done", "failed", "cancelled"]
    jobs: int
    done: int
    failed: int


class Stream(BaseModel):
    id: int
    name: str
    source: str
    duration: float
    language: str | None = Field(default=None, description=(
        "The spoken language's code (en, es, ja, ...): as asked for, or detected with "
        "`auto`; null until the stream is ingested"))
    status: str
    error: str | None
    streamer_id: int | None
    live: bool = Field(default=False, description=(
        "Followed while it is streamed; status `processing` while it is live, `stopping` "
        "once asked to stop"))
    created_at: datetime
    updated_at: datetime


class StreamDetail(Stream):
    options: dict[str, Any]
    chat_lag: float | None
    stages: list[StageProgress]
    clips: int = Field(description="Clips ready to review: rendered (or, for a stream not "
                       "rendered, listed); not those still being rendered")
    notices: list[str] = Field(default_factory=list, description=(
        "What to know about the latest run, e.g. why it has fewer clips than asked"))


class Clip(BaseModel):
    id: str
    stream_id: int
    rank: int
    start: float
    end: float
    score: float
    reasons: dict[str, float]
    title: str
    layout: str
    rendered_layout: str
    regions: dict[str, Any] | None = Field(
        default=None, description="stacked layout: facecam and gameplay (x, y, w, h in "
        "source pixels), top_height (output pixels), edited (set by a person)")
    caption_style: str | None = None
    aspect: str | None = Field(default=None, description="9:16, 1:1 or 16:9 set for this "
                               "clip; null: the stream's (ClipDetail.stream_aspect)")
    status: str
    captions: str | None
    revision: int
    video_url: str | None
    thumbnail_url: str | None
    updated_at: datetime
    score_100: int = Field(0, ge=0, le=100, description="The score on a 0-100 scale")
    why: str = Field("", description="The reason in plain words, from `reasons`")


class Word(BaseModel):
    start: float = Field(description="Seconds in the stream; names the word in an edit")
    end: float
    word: str = Field(description="What the captions show: empty when an edit removed it")
    heard: str = Field(description="What was said")


class ClipDetail(Clip):
    words: list[Word] = Field(description="The words inside the clip")
    nearby: list[Word] = Field(description="The words up to 30 s either side of the clip too: "
                               "where the trim handles reach")
    stream_duration: float
    stream_aspect: str = Field(description="The stream's aspect ratio (its streamer's "
                               "default when it was submitted)")
    source_width: int = Field(description="Width of the stream's picture: regions are in "
                              "these pixels")
    source_height: int
    streamer_id: int | None


class WordEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Finite = Field(description="The heard word's start, as `words` lists it")
    word: Annotated[str, Field(max_length=200), AfterValidator(_no_nul)] = Field(
        description="What the captions show instead (several words share its time; empty "
                    "removes it; the heard word again undoes the edit)")


class Regions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facecam: Box | None = None
    gameplay: Box | None = None


class ClipPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Finite | None = None
    end: Finite | None = None
    title: Title | None = None
    captions: LongText | None = Field(default=None, description=(
        "Caption text for the whole clip (within the new bounds when they change too), "
        "aligned with the heard words so each keeps its time; null undoes every edit"))
    words: list[WordEdit] | None = Field(default=None, max_length=2000, description=(
        "Edits per heard word, kept through later trims"))
    layout: Layout | None = None
    caption_style: CaptionStyle | None = None
    aspect: Aspect | None = Field(default=None, description="9:16 (1080x1920), 1:1 "
                                  "(1080x1080) or 16:9 (1920x1080); null: the stream's")
    regions: Regions | None = Field(default=None, description="stacked layout panes set "
                                    "by hand; {} goes back to the detected ones")

    @model_validator(mode="after")
    def _no_null_values(self) -> ClipPatch:
        """null means "back to the default" only where there is one (captions: the
        transcript, caption_style: the stream's, regions: detection)."""
        nulls = sorted(name for name in self.model_fields_set
                       if getattr(self, name) is None and name in ("start", "end", "title",
                                                                    "layout", "words"))
        if nulls:
            raise ValueError(f"{', '.join(nulls)}: null is not a value here; give one, or "
                             "leave the field out to keep it")
        return self


class PreviewStyle(BaseModel):
    """A caption preset as the browser draws it (px of the 1080x1920 frame)."""
    font: str
    size: int
    colour: str = Field(description="#rrggbb")
    highlight: str = Field(description="#rrggbb: the word being spoken")
    outline: float
    box: bool
    position: Literal["bottom", "middle", "top"]
    margin_v: int
    words_per_line: int
    line_chars: int
    max_lines: int
    uppercase: bool


class Formats(BaseModel):
    aspects: dict[str, list[int]] = Field(description="name: [width, height] of the output")
    presets: dict[str, PreviewStyle]


class TranscriptHit(BaseModel):
    start: float = Field(description="The matching words' start, s in the stream")
    end: float
    words: list[Word] = Field(description="The matching words with a few either side")


class Transcript(BaseModel):
    query: str
    hits: list[TranscriptHit]


class Waveform(BaseModel):
    start: float
    end: float
    peaks: list[float] = Field(description="Peak level (0..1) of equal slices of the range")


class ClipMake(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Finite
    end: Finite
    title: Title | None = None


class Timeline(BaseModel):
    duration: float
    curve: list[float] = Field(description="Highlight score per second")
    clips: list[Clip]


ClipId = Annotated[str, Field(min_length=1, max_length=32)]  # an unknown one: 404


class BulkReview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[ClipId] = Field(min_length=1, max_length=200, description="The stream's clips")
    decision: Literal["approve", "reject"]


class Version(BaseModel):
    number: int = Field(description="0: the clip before its first edit or review")
    action: str = Field(description="picked, edit, approve or reject")
    changes: list[str] = Field(description="The fields an edit changed")
    by: str | None
    undone: bool
    title: str
    start: float
    end: float
    status: str
    created_at: datetime


class Review(BaseModel):
    clip_id: str
    status: str
    streamer: str
    labels: int
    ranker_active: bool
    publishing: list[str] = Field(default_factory=list,
                                  description="platforms the streamer's auto-publish queued")


# A streamer preference: layout and caption style, and publishing (auto_publish "youtube,x",
# privacy, hashtags, title/description/post templates, which may be long).
Setting = LongText | int | float | bool | list[Short]
StreamerSettings = Annotated[dict[Short, Setting], Field(max_length=32)]  # services/checks.py: keys


class StreamerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    platform: Literal["twitch", "youtube", "other"] | None = None
    channel: Name | None = None
    settings: StreamerSettings = Field(default_factory=dict)


class StreamerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    platform: Literal["twitch", "youtube", "other"] | None = None
    channel: Name | None = None
    settings: StreamerSettings | None = None


class Streamer(BaseModel):
    id: int
    name: str
    platform: str | None
    channel: str | None
    settings: dict[str, Any]
    chat_lag: float | None
    faces: int
    created_at: datetime


class Face(BaseModel):
    id: int
    streamer_id: int
    image_url: str
    created_at: datetime


class Job(BaseModel):
    id: int
    stream_id: int
    run: int
    stage: str
    target: str
    status: str
    attempts: int
    worker: str | None
    error: str | None
    seconds: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Publication(BaseModel):
    id: int
    clip_id: str
    platform: str
    status: str  # queued, publishing, retrying, published, failed
    external_id: str | None
    url: str | None
    error: str | None  # the platform's reason, or what to do
    attempts: int
    title: str | None  # what was (or will be) sent: the YouTube title or the X post text
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platforms: list[Literal["youtube", "x", "tiktok", "instagram"]] = Field(min_length=1,
                                                                          max_length=4)
    publish_at: Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="ISO 8601: the YouTube video goes public then")


class Account(BaseModel):
    id: int
    platform: str
    name: str
    streamer_id: int | None
    status: str  # connected, or revoked (connect it again)
    error: str | None
    created_at: datetime


class Event(BaseModel):
    id: int
    name: str
    stream_id: int | None
    payload: dict[str, Any]
    created_at: datetime


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Short
    password: Name
    label: Short = ""


class Token(BaseModel):
    token: str
    user: str


class Health(BaseModel):
    status: str
    version: str
    database: str


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {status: {"model": Error} for status in statuses}


class MemberOut(BaseModel):
    user_id: int
    user: str
    role: str


class Workspace(BaseModel):
    name: str
    role: str = Field(description="The caller's role: owner, editor or viewer")
    members: list[MemberOut]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: Name
    role: Literal["owner", "editor", "viewer"] = "editor"
