"""The publisher interface, what it publishes, and one HTTP call as both platforms need it:
the account's bearer token, one refresh-and-repeat on 401, and every failure sorted into
worth retrying (`PlatformUnavailable`: 5xx, 429, a cut connection) or final
(`PublishFailed`: any other 4xx; `AccountRevoked`)."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from clipforge import errors
from clipforge.publish.oauth import Credentials


@dataclass(frozen=True)
class Video:
    """A rendered clip and the words that go with it on a platform."""

    file: Path
    title: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    privacy: str = "public"  # public, unlisted, private
    publish_at: str | None = None  # RFC 3339; YouTube makes it public then
    thumbnail: Path | None = None
    text: str = ""  # the post's text (X)

    @property
    def size(self) -> int:
        return self.file.stat().st_size


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. why no thumbnail was set


class Checkpoint(Protocol):
    """Durable progress of one publication: `save` returns once the change is committed,
    so a step that follows it may rely on it surviving a crash."""

    def load(self) -> dict[str, Any]: ...

    def save(self, **changes: Any) -> None: ...


class Publisher(Protocol):
    platform: str

    def publish(self, video: Video, checkpoint: Checkpoint) -> Published:
        """Publish the video, resuming from the checkpoint; safe to call again after any
        failure or crash: it never makes a second video or post."""
        ...


def call(client: httpx.Client, auth: Credentials, method: str, url: str, what: str,
         ok: tuple[int, ...] = (200, 201), **kwargs: Any) -> httpx.Response:
    """One request as the account; `ok` are the statuses the caller handles itself."""
    for first in (True, False):
        header = auth.header()
        headers = {**kwargs.pop("headers", {}), **header}
        try:
            response = client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise errors.PlatformUnavailable(
                f"{what}: the connection failed ({type(exc).__name__}: {exc})") from exc
        kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        if response.status_code == 401 and first:
            auth.refresh(header["Authorization"].removeprefix("Bearer "))
            continue
        if response.status_code not in ok:
            raise failure(response, what)
        return response
    raise AssertionError("unreachable")


def failure(response: httpx.Response, what: str) -> errors.ClipForgeError:
    status = response.status_code
    reason = error_text(response)
    if status == 429 or status >= 500:
        wait = retry_after(response)
        later = f"; it asks to wait {wait:.0f} s" if wait is not None else ""
        return errors.PlatformUnavailable(f"{what}: the platform answered {status} "
                                          f"({reason}){later}", wait)
    if status == 401:
        return errors.AccountRevoked(f"{what}: the platform refused the account's token "
                                     f"even after a refresh ({reason}); connect it again")
    return errors.PublishFailed(f"{what}: the platform refused it ({status}: {reason})")


def error_text(response: httpx.Response) -> str:
    """The platform's own words: Google's error.message, X's detail or errors[].message."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return str(body["error"].get("message", body["error"]))
        if body.get("detail"):
            return str(body["detail"])
        if body.get("errors"):
            return "; ".join(str(e.get("message", e)) for e in body["errors"][:3])
        if body.get("title"):
            return str(body["title"])
    return str(body)[:200]


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta or HTTP date), or X's x-rate-limit-reset (epoch)."""
    value = response.headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, moment.timestamp() - time.time())
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return None
