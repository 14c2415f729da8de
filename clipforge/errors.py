"""One exception tree. Each error maps to a CLI exit code and an HTTP status.

Messages are written for the person at the keyboard: which input, what went wrong,
what to do about it.
"""

from __future__ import annotations


class ClipForgeError(Exception):
    """Base of every error ClipForge raises on purpose."""

    exit_code = 1
    http_status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(ClipForgeError):
    """The user gave us something we cannot work with."""

    exit_code = 2
    http_status = 422
    code = "bad_input"


class SourceNotFound(InputError):
    code = "source_not_found"


class UnsupportedSource(InputError):
    code = "unsupported_source"


class NotMedia(InputError):
    code = "not_media"


class NoFace(InputError):
    """A reference face image in which no face is found."""

    code = "no_face"


class NoAudio(InputError):
    code = "no_audio"


class EmptyMedia(InputError):
    code = "empty_media"


class CorruptMedia(InputError):
    code = "corrupt_media"


class ChatFileError(InputError):
    code = "bad_chat_file"


class NotFound(InputError):
    """A stream, clip, job or streamer the request names does not exist."""

    code = "not_found"
    http_status = 404


class ClipNotFound(NotFound):
    code = "clip_not_found"


class Conflict(InputError):
    """The request does not fit the thing's current state (say, editing while processing)."""

    code = "conflict"
    http_status = 409


class Unauthorized(InputError):
    code = "unauthorized"
    http_status = 401


class Forbidden(InputError):
    code = "forbidden"
    http_status = 403


class TooLarge(InputError):
    code = "too_large"
    http_status = 413


class BadOption(InputError):
    code = "bad_option"


class UnsafePath(InputError):
    """A store path that would leave the store (`..`, or absolute where a key is due)."""

    code = "unsafe_path"


class TooManyAttempts(InputError):
    """Too many failed logins from one address or for one user: wait, then try again."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# URL sources: what a site or the network can refuse (sources/ingest.py maps yt-dlp's
# errors to these).
class UnsafeUrl(InputError):
    """The URL points into a private network (see `allow_private_urls`)."""

    code = "unsafe_url"


class UnsupportedSite(UnsupportedSource):
    code = "unsupported_site"


class VideoUnavailable(InputError):
    """Private, deleted or never there."""

    code = "video_unavailable"
    http_status = 404


class SubscriberOnly(InputError):
    code = "subscriber_only"
    http_status = 403


class GeoBlocked(InputError):
    code = "geo_blocked"
    http_status = 451


class LiveStillRunning(InputError):
    code = "live_still_running"
    http_status = 409


class LiveStalled(InputError):
    """A live playlist gained no segment for longer than `live_stall_seconds`."""

    code = "live_stalled"
    http_status = 504


class HandedOver(ClipForgeError):
    """A live stream is no longer followed here, and not ended: its job was taken over by
    another worker (its lease ran out here), or this server or worker is shutting down
    and follows it on when it starts again."""

    code = "handed_over"


class NoNetwork(InputError):
    # 422 like other bad input: to the API's client, an unreachable URL is a bad URL.
    code = "no_network"


class TooLong(InputError):
    code = "too_long"
    http_status = 413


class ChatUnavailable(InputError):
    """A site's chat replay could not be fetched; the stream goes on without chat."""

    code = "chat_unavailable"


class DownloadFailed(InputError):
    code = "download_failed"


class NoAccount(Conflict):
    """Publishing asked for platforms the streamer has not connected (all of them named,
    in `platforms`, for a program to act on)."""

    code = "no_account"

    def __init__(self, message: str, platforms: list[str] | None = None) -> None:
        super().__init__(message)
        self.platforms = platforms or []


class PublishFailed(ClipForgeError):
    """A platform refused the upload or the post for good (a 4xx): retrying cannot help."""

    exit_code = 7
    http_status = 502
    code = "publish_failed"


class AccountRevoked(PublishFailed):
    """The platform no longer accepts the account's tokens: connect it again."""

    code = "account_revoked"


class PlatformUnavailable(PublishFailed):
    """A failure that may pass (5xx, 429, a cut connection): worth another attempt."""

    code = "platform_unavailable"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MissingDependency(ClipForgeError):
    """A program or model ClipForge needs is not installed."""

    exit_code = 3
    code = "missing_dependency"


class MediaToolError(ClipForgeError):
    """ffmpeg or ffprobe failed on input we had already validated."""

    exit_code = 4
    code = "media_tool_failed"


class StateError(ClipForgeError):
    """The state database cannot be used as it is."""

    exit_code = 6
    http_status = 503
    code = "state_unusable"


class StreamFailed(ClipForgeError):
    """A job of the stream failed (or it was cancelled); the message carries the job's
    error. The exit code is that of the job's error when it was one of ours (bad input
    found while working: 2, ffmpeg: 4, ...), else 8. It comes from the code stored with
    the failure, never from an exception only the process that ran the job saw, so it is
    the same whichever process ran it."""

    exit_code = 8
    http_status = 500
    code = "stream_failed"

    def __init__(self, message: str, cause_code: str | None = None) -> None:
        super().__init__(message)
        cause = _by_code(ClipForgeError).get(cause_code or "")
        if cause is not None and cause is not ClipForgeError:
            self.exit_code = cause.exit_code


def code_of(exc: BaseException) -> str:
    """The code to store with a failure: ours, or `stream_failed` for anything else."""
    return exc.code if isinstance(exc, ClipForgeError) else StreamFailed.code


def _by_code(base: type[ClipForgeError]) -> dict[str, type[ClipForgeError]]:
    found = {base.code: base}
    for sub in base.__subclasses__():
        found.update(_by_code(sub))
    return found


class NoSpaceLeft(ClipForgeError):
    exit_code = 5
    http_status = 507
    code = "no_space_left"
