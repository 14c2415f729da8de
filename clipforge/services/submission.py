"""Taking a stream in: check its source (a file or a URL) and options before any work
starts, so bad input costs nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from clipforge import errors
from clipforge.config import Settings, get_settings, media_roots
from clipforge.domain import MediaInfo, Options
from clipforge.media import ffmpeg
from clipforge.services.checks import check_options
from clipforge.sources import chat as chat_files
from clipforge.sources import ingest
from clipforge.storage import store


@dataclass(frozen=True)
class Source:
    """A checked source: a local file, or a URL resolved by yt-dlp."""

    where: str  # the file's absolute path, or the URL
    key: str  # identifies the stream: content fingerprint, or the site's video id
    name: str
    info: MediaInfo  # for a URL, what the site says until ingest has downloaded it


def validate(source: Path | str, options: Options, settings: Settings | None = None
             ) -> Source:
    """Check every input before any work starts, so bad input costs nothing."""
    messages = check_options(options)
    ffmpeg.require_tools()
    if ingest.is_url(source):
        url = str(source)
        remote = ingest.resolve(url, ingest.limits_from(settings or get_settings()))
        info = MediaInfo(path=url, duration=remote.duration, has_video=True, has_audio=True,
                         width=remote.width, height=remote.height)
        if messages is not None and options.chat is not None:
            chat_files.check_times(messages, info.duration, options.chat)
        return Source(where=url, key=remote.key, name=remote.title or remote.id, info=info)
    path = Path(source)
    info = ffmpeg.probe(path)
    if messages is not None and options.chat is not None:
        chat_files.check_times(messages, info.duration, options.chat)
    where = path if store.is_store_path(path) else path.resolve()  # see storage/store.py
    return Source(where=str(where), key=fingerprint(path), name=path.stem, info=info)


def fingerprint(path: Path) -> str:
    """Identify a source by content (size, head and tail), so a moved file still resumes."""
    size = path.stat().st_size
    digest = hashlib.sha1(str(size).encode())
    with path.open("rb") as f:
        digest.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        digest.update(f.read(1 << 20))
    return digest.hexdigest()[:16]


def server_file(text: str, settings: Settings, what: str) -> Path:
    """A file on the server that an API client names by path: only one under a folder of
    CLIPFORGE_MEDIA_ROOTS, symlinks followed. Any other path gets the same answer whether
    it exists or not, so the API tells nothing about the server's files."""
    roots = media_roots(settings)
    if not roots:
        raise errors.Forbidden(f"{what}: files on the server are off for API clients "
                               "(CLIPFORGE_MEDIA_ROOTS is empty); upload the file instead")
    path = Path(text)
    try:
        resolved = path.resolve() if path.is_absolute() else None
    except (OSError, RuntimeError):  # a symlink loop, an unreadable folder
        resolved = None
    if resolved is None or not any(resolved.is_relative_to(root) for root in roots):
        raise errors.Forbidden(f"{what} {text}: not under the folders API clients may "
                               "read (CLIPFORGE_MEDIA_ROOTS); give an absolute path under "
                               "one of them, or upload the file")
    return resolved


def under_roots(path: Path, settings: Settings) -> bool:
    """Whether a file lies under a media root, symlinks followed (for serving it)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    return any(resolved.is_relative_to(root) for root in media_roots(settings))
