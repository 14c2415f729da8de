"""Ingest from a URL with yt-dlp (as a library): resolve it (title, channel, duration,
formats), download a low-resolution rendition for analysis, and later only the clips'
time ranges in full quality, so a 4-hour VOD is not fetched in 1080p to make five clips.

Downloads are resumable: yt-dlp continues a `.part` file (HTTP Range) or the fragments
of an HLS download it had started, and a finished download is never fetched again (a
`NAME.done.json` marker next to it says which file it is). Which hosts may be fetched
from, checked where every connection is made, is `addresses.py`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from yt_dlp import YoutubeDL
from yt_dlp.networking.exceptions import NoSupportingHandlers
from yt_dlp.postprocessor.common import PostProcessor
from yt_dlp.utils import DownloadError, download_range_func

from clipforge import errors
from clipforge.media import ffmpeg
from clipforge.sources.addresses import (
    Limits,
    check,
    check_playlist,
    check_url,
    connections_checked,
    ffmpeg_through,
    limits_from,
    proxy_check,
)
from clipforge.sources.proxy import CheckingProxy

__all__ = ["Limits", "RemoteMedia", "analysis_format", "check_playlist", "check_url",
           "describe_error", "download", "download_section", "is_url", "limits_from",
           "resolve"]

# Formats in yt-dlp's selector language. Analysis: a muxed rendition of at most HEIGHT
# lines, else video of at most HEIGHT plus the best audio, else the smallest there is.
# `?` lets formats whose height is unknown (a direct MP4 link) through.
ANALYSIS_FORMAT = "b[height<=?{h}]/bv*[height<=?{h}]+ba/w/b"
RENDER_FORMAT = "bv*[height<=?1080]+ba/b[height<=?1080]/bv*+ba/b"
LIVE = ("is_live", "is_upcoming", "post_live")

MAX_PLAYLIST_BYTES = 16 << 20
Progress = Callable[[float], None]  # fraction of the download done, 0..1


@dataclass(frozen=True)
class RemoteMedia:
    """What a URL holds, as yt-dlp resolves it."""

    url: str  # as the user gave it
    webpage_url: str
    extractor: str
    id: str
    title: str
    channel: str
    duration: float  # 0.0 when the site does not say (a direct media link)
    width: int
    height: int  # of the best rendition
    live_chat: bool  # the site has a chat replay yt-dlp can fetch (YouTube)

    @property
    def key(self) -> str:
        """The same video is the same stream, whichever of its URLs was given."""
        ident = f"{self.extractor}:{self.id}:{self.webpage_url}"
        return hashlib.sha1(ident.encode()).hexdigest()[:16]


def is_url(source: object) -> bool:
    return "://" in str(source)


def resolve(url: str, limits: Limits) -> RemoteMedia:
    """Look the URL up (no download) and check it can be processed."""
    check(url, limits)
    with _ydl({"format": RENDER_FORMAT}, limits) as ydl:
        info = _run(url, lambda: ydl.extract_info(url, download=False))
    if info.get("_type") in ("playlist", "multi_video"):
        raise errors.UnsupportedSource(
            f"{url}: is a playlist or channel, not one video; give the URL of one VOD")
    if info.get("is_live") or info.get("live_status") in LIVE:
        raise errors.LiveStillRunning(
            f"{url}: the stream is still live (or has not started); run again once it has "
            "ended and its VOD is published")
    duration = float(info.get("duration") or 0.0)
    if duration > limits.max_seconds:
        raise errors.TooLong(
            f"{url}: lasts {duration / 3600:.1f} h, longer than the limit of "
            f"{limits.max_seconds / 3600:g} h (CLIPFORGE_MAX_DURATION_HOURS)")
    return RemoteMedia(
        url=url, webpage_url=str(info.get("webpage_url") or url),
        extractor=str(info.get("extractor_key") or info.get("extractor") or "generic"),
        id=str(info.get("id") or url), title=str(info.get("title") or ""),
        channel=str(info.get("channel") or info.get("uploader") or ""),
        duration=duration, width=int(info.get("width") or 0),
        height=int(info.get("height") or 0),
        live_chat="live_chat" in (info.get("subtitles") or {}),
    )


def live_playlist(url: str, limits: Limits) -> str:
    """The HLS playlist a live stream is followed by: the URL itself when it names one
    (`.m3u8`), else the one yt-dlp finds for a live Twitch, YouTube or Kick page."""
    check(url, limits)
    if urlsplit(url).path.endswith(".m3u8"):
        return url
    with _ydl({"format": "best"}, limits) as ydl:
        info = _run(url, lambda: ydl.extract_info(url, download=False))
    if not (info.get("is_live") or info.get("live_status") == "is_live"):
        raise errors.UnsupportedSource(f"{url}: is not live now; for a recording, use "
                                       "`clipforge process`")
    found = info.get("manifest_url") or info.get("url")
    if not found or not str(found).startswith(("http://", "https://")):
        raise errors.UnsupportedSource(f"{url}: no HLS playlist found for the live stream")
    return str(found)


def analysis_format(height: int) -> str:
    return ANALYSIS_FORMAT.format(h=int(height))


def download(url: str, folder: Path, name: str, fmt: str, limits: Limits,
             on_progress: Progress | None = None,
             section: tuple[float, float] | None = None, live_chat: bool = False) -> Path:
    """Download URL in format FMT (or only the SECTION (start, end) in seconds of it)
    to FOLDER/NAME.EXT; returns the file. Resumes a partial download; a finished one is
    returned without touching the network. LIVE_CHAT: also fetch the chat replay, when
    the site has one (YouTube), to FOLDER/NAME.live_chat.json."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f"{name}.done.json"
    done = _finished(folder, name)
    if done is not None:
        return done
    check(url, limits)
    params: dict[str, Any] = {
        "format": fmt, "outtmpl": {"default": f"{name}.%(ext)s"},
        "paths": {"home": str(folder), "temp": str(folder)},
        "progress_hooks": [_progress_hook(url, limits, on_progress)],
    }
    if live_chat:
        params.update(writesubtitles=True, subtitleslangs=["live_chat"])
    if section is not None:
        # yt-dlp hands a section to ffmpeg, which seeks into the remote file (HTTP Range)
        # or fetches only the HLS segments that hold it.
        params["download_ranges"] = download_range_func(None, [section])
    with CheckingProxy(proxy_check(limits)) as proxy, ffmpeg_through(proxy):
        params["external_downloader_args"] = {"ffmpeg_i": ["-http_proxy", proxy.url]}
        with _ydl(params, limits) as ydl:
            ydl.add_post_processor(_HostCheck(limits), when="before_dl")
            try:
                info = _run(url, lambda: ydl.extract_info(url, download=True))
            except errors.ClipForgeError as exc:  # ffmpeg's failure: the refusal behind it
                if proxy.refused:
                    raise proxy.refused[0] from exc
                raise
    downloads = info.get("requested_downloads") or []
    if proxy.refused:  # ffmpeg skips a segment it could not fetch and goes on
        for done_file in downloads:
            Path(done_file["filepath"]).unlink(missing_ok=True)
        raise proxy.refused[0]
    path = Path(downloads[0]["filepath"]) if downloads else None
    if path is None or not path.exists():
        raise errors.DownloadFailed(f"{url}: yt-dlp finished without a file; try again")
    tmp = marker.with_name(marker.name + ".part")
    tmp.write_text(json.dumps({"file": path.name}))
    tmp.replace(marker)
    return path


WHOLE = "whole"  # the name of a whole file fetched because a section could not be


@dataclass(frozen=True)
class Section:
    """A time range of a URL's media, in a local file."""

    path: Path
    offset: float  # where the file starts in the stream, seconds
    notice: str = ""  # for the user (a stream.notice), when it was got another way


def download_section(url: str, folder: Path, section: tuple[float, float], fmt: str,
                     limits: Limits, on_progress: Progress | None = None) -> Section:
    """SECTION (start, end) of URL in format FMT. A server without HTTP Range support
    (say `python3 -m http.server`) cannot serve a section: the file comes back empty. Then
    the whole file is downloaded, once for all the stream's clips, and the render cuts
    each clip from it; the first time, the Section carries a notice saying so."""
    whole = _finished(folder, WHOLE)
    if whole is not None:
        return Section(whole, 0.0)
    lo, hi = section
    name = f"hd-{lo:09.3f}-{hi:09.3f}"
    path = download(url, folder, name, fmt, limits, on_progress, section=section)
    if _holds_media(path):
        return Section(path, lo)
    path.unlink(missing_ok=True)
    (folder / f"{name}.done.json").unlink(missing_ok=True)
    whole = download(url, folder, WHOLE, fmt, limits, on_progress)
    if not _holds_media(whole):
        raise errors.DownloadFailed(f"{url}: the download holds no video or audio; check "
                                    "that the URL serves a recording")
    return Section(whole, 0.0, f"{url}: the server cannot send part of a file (no HTTP "
                               "Range support), so the whole file was downloaded once and "
                               "the clips are cut from it")


def _finished(folder: Path, name: str) -> Path | None:
    marker = folder / f"{name}.done.json"
    if not marker.exists():
        return None
    done = folder / json.loads(marker.read_text())["file"]
    return done if done.exists() else None


def _holds_media(path: Path) -> bool:
    try:
        ffmpeg.probe(path)
    except errors.InputError:
        return False
    return True


# --- yt-dlp plumbing ----------------------------------------------------------------------

class _Silent:
    """yt-dlp's logger: ClipForge reports errors itself, as one clear line."""

    def debug(self, msg: str) -> None:
        pass

    info = warning = error = debug


class _TooLarge(Exception):
    pass


class _HostCheck(PostProcessor):
    """Before downloading, check the hosts of the media URLs too: a page or a manifest
    on a public host must not lead the download into a private network. An HLS
    playlist is read (through the checked `urlopen`) and every host it names checked."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(None)
        self.limits = limits

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        for fmt in info.get("requested_formats") or [info]:
            if not fmt.get("url"):
                continue
            url = str(fmt["url"])
            check(url, self.limits)
            if str(fmt.get("protocol", "")).startswith("m3u8") and self._downloader:
                with self._downloader.urlopen(url) as response:
                    text = response.read(MAX_PLAYLIST_BYTES).decode("utf-8", "replace")
                check_playlist(text, url, self.limits)
        return [], info


class _CheckedYDL(YoutubeDL):
    """Every request yt-dlp itself makes goes through `urlopen`: check its host, and
    where a redirect led, before anything is read from the answer."""

    limits = Limits()

    def urlopen(self, req: Any) -> Any:
        check(req if isinstance(req, str) else req.url, self.limits)
        with connections_checked(self.limits):  # each connection, redirects' too
            try:
                response = super().urlopen(req)
            except NoSupportingHandlers as exc:  # every handler met the refusal
                refused = [e for e in exc.unexpected_errors
                           if isinstance(e, errors.ClipForgeError)]
                if refused:
                    raise refused[0] from exc
                raise
        try:
            check(response.url, self.limits)
        except errors.ClipForgeError:
            response.close()
            raise
        return response


def _ydl(params: dict[str, Any], limits: Limits) -> YoutubeDL:
    base: dict[str, Any] = {
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": _Silent(),
        "noplaylist": True, "continuedl": True, "overwrites": False,
        "merge_output_format": "mp4", "retries": 3, "fragment_retries": 3,
        "extractor_retries": 1, "socket_timeout": 20,
        "concurrent_fragment_downloads": 1,  # in the thread whose connections are checked
    }
    ydl = _CheckedYDL({**base, **params})
    ydl.limits = limits
    return ydl


def _progress_hook(url: str, limits: Limits, on_progress: Progress | None
                   ) -> Callable[[dict[str, Any]], None]:
    def hook(status: dict[str, Any]) -> None:
        if status.get("status") != "downloading":
            return
        got = int(status.get("downloaded_bytes") or 0)
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if max(got, int(status.get("total_bytes") or 0)) > limits.max_bytes:
            raise _TooLarge(max(got, int(status.get("total_bytes") or 0)))
        if on_progress is not None and total:
            on_progress(min(1.0, got / float(total)))

    return hook


def _run(url: str, call: Callable[[], Any]) -> dict[str, Any]:
    try:
        info = call()
    except DownloadError as exc:
        raise describe_error(url, exc) from exc
    except _TooLarge as exc:
        raise _too_large(url, int(exc.args[0])) from exc
    if not isinstance(info, dict):
        raise errors.DownloadFailed(f"{url}: yt-dlp found nothing to download")
    return info


def _too_large(url: str, size: int) -> errors.TooLarge:
    return errors.TooLarge(
        f"{url}: the download is larger than the limit ({size >> 20} MB; "
        "CLIPFORGE_MAX_DOWNLOAD_MB); raise the limit or pick a shorter VOD")


# --- errors -------------------------------------------------------------------------------
# yt-dlp reports every failure as a DownloadError whose message is "ERROR: [extractor]
# id: what the site said", and whose exc_info holds the exception behind it. These are
# the cases users hit, in the words the sites and yt-dlp use for them.

_RULES: list[tuple[type[errors.ClipForgeError], tuple[str, ...], str]] = [
    (errors.SubscriberOnly,
     ("subscriber-only", "subscribers only", "subscriber only", "members-only",
      "join this channel", "members only"),
     "is for subscribers (or channel members) only; ClipForge cannot fetch it. Download "
     "it yourself while signed in and give the file"),
    (errors.GeoBlocked,
     ("geo restriction", "geo-restrict", "not available in your country",
      "not available from your location", "http error 451"),
     "is blocked in this machine's country; download it from where it is available and "
     "give the file"),
    (errors.LiveStillRunning,
     ("live event will begin", "premieres in", "this live event", "is still live",
      "stream is still running"),
     "is a live stream that is still running (or has not started); run again once it "
     "has ended and its VOD is published"),
    (errors.VideoUnavailable,
     ("private video", "is private", "sign in if you've been granted access",
      "http error 401", "http error 403"),
     "is private (or needs an account); ask its owner to make it public or unlisted, or "
     "download it yourself and give the file"),
    (errors.VideoUnavailable,
     ("video unavailable", "has been removed", "does not exist", "no longer available",
      "http error 404", "http error 410", "this video is unavailable"),
     "was deleted or never existed; check the URL"),
    (errors.UnsupportedSite,
     ("unsupported url",),
     "is not a video page or media URL yt-dlp can read (unsupported site); give a "
     "Twitch or YouTube VOD URL, a direct media URL, or a local file"),
    (errors.NoNetwork,
     ("connection refused", "name or service not known", "temporary failure in name "
      "resolution", "network is unreachable", "timed out", "no route to host",
      "failed to resolve", "nodename nor servname", "getaddrinfo failed",
      "connection reset", "remote end closed connection"),
     "cannot be reached (no network, or the server is down); check the URL and that this "
     "machine is online, then run again: the download resumes"),
]


def describe_error(url: str, exc: BaseException) -> errors.ClipForgeError:
    """Map a yt-dlp error (its exception or just its message) to ours: which URL, what
    the site said, what to do."""
    cause = _cause(exc)
    if isinstance(cause, errors.ClipForgeError):
        return cause
    if isinstance(cause, _TooLarge):
        return _too_large(url, int(cause.args[0]))
    said = _said(str(exc))
    text = f"{exc} {cause or ''}".lower()
    if type(cause).__name__ == "GeoRestrictedError":
        text += " geo restriction"
    for kind, needles, advice in _RULES:
        if any(needle in text for needle in needles):
            return kind(f"{url}: {advice} ({said})")
    return errors.DownloadFailed(f"{url}: yt-dlp could not fetch it ({said}); check the URL "
                                 "and run again")


def _cause(exc: BaseException) -> BaseException | None:
    """What went wrong inside yt-dlp's wrappers: one of ours if there is one in the
    chain, else the first cause."""
    first, seen = None, exc
    for _ in range(5):
        info = getattr(seen, "exc_info", None)
        inner = info[1] if info and len(info) > 1 else None
        nxt = inner if inner is not None else (seen.__cause__ or seen.__context__)
        if nxt is None or nxt is seen:
            break
        first = first or nxt
        if isinstance(nxt, errors.ClipForgeError | _TooLarge):
            return nxt
        seen = nxt
    return first


def _said(message: str) -> str:
    """yt-dlp's message without its "ERROR: " prefix and advice about its own options."""
    text = " ".join(message.replace("ERROR: ", "").split())
    for cut in (" (caused by", " Use --cookies", "; please report this issue",
                " You might want to use"):
        text = text.split(cut)[0]
    return text[:300]
