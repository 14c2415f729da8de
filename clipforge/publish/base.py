"""The publisher interface, what it publishes, and one HTTP call as every platform needs
it: the account's bearer token, one refresh-and-repeat when the token is refused (401, or
the Graph API's OAuthException code 190), and every failure sorted into worth retrying
(`PlatformUnavailable`: 5xx, 429, the Graph API's rate-limit codes, a cut connection) or
final (`PublishFailed`: any other 4xx; `AccountRevoked`)."""

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
    text: str = ""  # the post's text (X), the caption (TikTok, Instagram)
    duration: float = 0.0  # seconds, for the platforms' limits
    cover_at: float = 0.0  # seconds into the clip: the cover frame (TikTok, Instagram)
    options: dict[str, Any] = field(default_factory=dict)  # a platform's own choices

    @property
    def size(self) -> int:
        return self.file.stat().st_size


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str
    notes: dict[str, Any] = field(default_factory=dict)  # e.g. why no thumbnail was set


def posted_at_once(published: Published, video: Video, platform: str) -> Published:
    """A platform whose API cannot schedule posts at once; its publication says so."""
    if not video.publish_at:
        return published
    return Published(published.external_id, published.url, {
        **published.notes, "schedule": f"{platform} cannot schedule posts through its API: "
        f"posted at once, not at {video.publish_at}"})


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


GRAPH_RATE_LIMITS = (4, 17, 32, 613)  # Graph API error codes that mean "slow down"
# What to do about the refusals a streamer meets most (TikTok's error codes, the Graph
# API's codes), added to the platform's own words.
HINTS: dict[object, str] = {
    "spam_risk_too_many_posts": "the creator reached TikTok's daily limit of posts through "
                                "apps; publish again tomorrow",
    "spam_risk_user_banned_from_posting": "TikTok does not let this creator post now",
    "reached_active_user_cap": "this TikTok app reached its daily cap of posting users",
    "unaudited_client_can_only_post_to_private_accounts":
        "TikTok has not audited this app yet: set the streamer's TikTok privacy to "
        "SELF_ONLY (Only me) or send drafts",
    "privacy_level_option_mismatch": "choose a TikTok privacy this creator may use",
    10: "the account did not grant publishing: connect it again and allow "
        "instagram_content_publish",
    200: "the account did not grant publishing: connect it again and allow every permission",
    9004: "Instagram could not fetch or read the media; check the clip file",
}
GRAPH_TOKEN = 190  # Graph API: the access token expired or was revoked


def call(client: httpx.Client, auth: Credentials | None, method: str, url: str, what: str,
         ok: tuple[int, ...] = (200, 201), scheme: str = "Bearer",
         **kwargs: Any) -> httpx.Response:
    """One request as the account (none: a pre-signed URL such as TikTok's upload_url);
    `ok` are the statuses the caller handles itself; `scheme` names the Authorization
    scheme (Instagram's upload host wants `OAuth`)."""
    for first in (True, False):
        token = auth.header()["Authorization"].removeprefix("Bearer ") if auth else ""
        headers = {**kwargs.pop("headers", {}),
                   **({"Authorization": f"{scheme} {token}"} if auth else {})}
        try:
            response = client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise errors.PlatformUnavailable(
                f"{what}: the connection failed ({type(exc).__name__}: {exc})") from exc
        kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        if auth is not None and token_refused(response) and first:
            auth.refresh(token)
            continue
        if response.status_code not in ok:
            raise failure(response, what)
        return response
    raise AssertionError("unreachable")


def token_refused(response: httpx.Response) -> bool:
    return response.status_code == 401 or (
        response.status_code == 400 and _graph_code(response) == GRAPH_TOKEN)


def _graph_code(response: httpx.Response) -> object:
    code = _error_code(response)
    return code if isinstance(code, int) else None


def _error_code(response: httpx.Response) -> object:
    """error.code of the body: TikTok's words, the Graph API's number."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def failure(response: httpx.Response, what: str) -> errors.ClipForgeError:
    status = response.status_code
    reason = error_text(response)
    if status == 429 or status >= 500 or _graph_code(response) in GRAPH_RATE_LIMITS:
        wait = retry_after(response)
        later = f"; it asks to wait {wait:.0f} s" if wait is not None else ""
        return errors.PlatformUnavailable(f"{what}: the platform answered {status} "
                                          f"({reason}){later}", wait)
    if token_refused(response):
        return errors.AccountRevoked(f"{what}: the platform refused the account's token "
                                     f"even after a refresh ({reason}); connect it again")
    hint = HINTS.get(_error_code(response))
    return errors.PublishFailed(f"{what}: the platform refused it ({status}: {reason})"
                                + (f"; {hint}" if hint else ""))


def error_text(response: httpx.Response) -> str:
    """The platform's own words: Google's, TikTok's or the Graph API's error.message (with
    TikTok's error.code), X's detail or errors[].message."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            error = body["error"]
            message = str(error.get("message") or error)
            code = error.get("code")  # TikTok's words for it, e.g. spam_risk_too_many_posts
            return f"{code}: {message}" if isinstance(code, str) and code != "ok" else message
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
