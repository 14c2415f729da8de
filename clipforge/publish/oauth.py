"""OAuth 2.0 for the platforms: the authorization-code flow with PKCE (S256), the code
exchange, and refreshing an access token when it expires or a platform answers 401.

Google: offline access (a refresh token) needs `access_type=offline`; `prompt=consent`
makes Google issue a refresh token again on a reconnect. X: `offline.access` in the
scopes; a confidential client authenticates to the token endpoint with HTTP Basic.
TikTok (Login Kit): the app is named by `client_key`, scopes are comma-separated, the
S256 code challenge is written in hex (Login Kit for Desktop), access tokens last a day
and refresh tokens may rotate. Instagram (Facebook Login for Business):
there is no refresh token; the short-lived user token is traded for a long-lived one
(`grant_type=fb_exchange_token`, about 60 days), and refreshing trades the current one
again before it expires.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from clipforge import errors
from clipforge.config import Settings

YOUTUBE_SCOPES = ("https://www.googleapis.com/auth/youtube.upload",
                  "https://www.googleapis.com/auth/youtube.readonly")
X_SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
TIKTOK_SCOPES = ("user.info.basic", "video.publish", "video.upload")
INSTAGRAM_SCOPES = ("instagram_basic", "instagram_content_publish", "pages_show_list",
                    "pages_read_engagement", "business_management")
FB_EXCHANGE = "fb_exchange_token"  # Facebook's long-lived token grant
EARLY = 60.0  # refresh this long before the expiry, not after a request failed


@dataclass(frozen=True)
class Provider:
    platform: str
    label: str
    auth_url: str
    token_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)  # more authorize parameters
    basic_auth: bool = False  # client credentials in an Authorization header
    setting: str = ""  # the CLIPFORGE_* setting that names the app
    id_field: str = "client_id"  # TikTok says client_key
    scope_separator: str = " "  # TikTok and Facebook: ","
    refresh_grant: str = "refresh_token"  # Facebook: fb_exchange_token
    hex_challenge: bool = False  # TikTok: the S256 challenge as hex, not base64url


def provider(settings: Settings, platform: str) -> Provider:
    if platform == "youtube":
        found = Provider("youtube", "YouTube", settings.google_auth_url,
                         settings.google_token_url, settings.youtube_client_id,
                         settings.youtube_client_secret, YOUTUBE_SCOPES,
                         {"access_type": "offline", "prompt": "consent",
                          "include_granted_scopes": "true"})
    elif platform == "x":
        found = Provider("x", "X", settings.x_auth_url, settings.x_token_url,
                         settings.x_client_id, settings.x_client_secret, X_SCOPES,
                         basic_auth=bool(settings.x_client_secret))
    elif platform == "tiktok":
        found = Provider("tiktok", "TikTok", settings.tiktok_auth_url,
                         settings.tiktok_token_url, settings.tiktok_client_key,
                         settings.tiktok_client_secret, TIKTOK_SCOPES,
                         setting="CLIPFORGE_TIKTOK_CLIENT_KEY (and its _CLIENT_SECRET)",
                         id_field="client_key", scope_separator=",", hex_challenge=True)
    elif platform == "instagram":
        found = Provider("instagram", "Instagram", settings.instagram_auth_url,
                         settings.instagram_token_url, settings.instagram_client_id,
                         settings.instagram_client_secret, INSTAGRAM_SCOPES,
                         setting="CLIPFORGE_INSTAGRAM_CLIENT_ID (the Meta app id) and "
                                 "CLIPFORGE_INSTAGRAM_CLIENT_SECRET",
                         scope_separator=",", refresh_grant=FB_EXCHANGE)
    else:
        raise errors.BadOption(f"platform {platform}: use youtube, x, tiktok or instagram")
    if not found.client_id:
        setting = found.setting or \
            f"CLIPFORGE_{platform.upper()}_CLIENT_ID (and its _CLIENT_SECRET)"
        raise errors.BadOption(f"{found.label}: no OAuth client configured; set {setting} "
                               "to the app registered with the platform")
    return found


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float  # Unix time
    scope: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Tokens:
        return cls(raw["access_token"], raw.get("refresh_token"),
                   float(raw.get("expires_at", 0)), raw.get("scope", ""))


@dataclass(frozen=True)
class Authorization:
    """One authorization attempt: where to send the person, and what proves the answer."""

    url: str
    state: str
    verifier: str


def start(found: Provider, redirect_uri: str) -> Authorization:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode())
    challenge = digest.hexdigest() if found.hex_challenge else \
        base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
    state = secrets.token_urlsafe(24)
    query = {"response_type": "code", found.id_field: found.client_id,
             "redirect_uri": redirect_uri, "scope": found.scope_separator.join(found.scopes),
             "state": state,
             "code_challenge": challenge, "code_challenge_method": "S256", **found.extra}
    return Authorization(f"{found.auth_url}?{urlencode(query)}", state, verifier)


def exchange(client: httpx.Client, found: Provider, code: str, redirect_uri: str,
             verifier: str) -> Tokens:
    """Trade the authorization code for tokens (for Facebook: then for a long-lived one)."""
    tokens = _token_request(client, found, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier}, None)
    if found.refresh_grant == FB_EXCHANGE:
        tokens = _token_request(client, found, {"grant_type": FB_EXCHANGE,
                                                FB_EXCHANGE: tokens.access_token}, None)
        tokens.refresh_token = tokens.access_token  # what the next trade spends
    return tokens


def refresh(client: httpx.Client, found: Provider, tokens: Tokens, account: str) -> Tokens:
    if not tokens.refresh_token:
        raise errors.AccountRevoked(f"{account}: the access token expired and there is no "
                                    f"refresh token; connect the account again")
    if found.refresh_grant == FB_EXCHANGE:  # trade the long-lived token for a new one
        fresh = _token_request(client, found, {"grant_type": FB_EXCHANGE,
                                               FB_EXCHANGE: tokens.access_token}, account)
        fresh.refresh_token = fresh.access_token
        return fresh
    fresh = _token_request(client, found, {"grant_type": "refresh_token",
                                           "refresh_token": tokens.refresh_token}, account)
    # Google keeps the refresh token; X rotates it. Keep whichever is current.
    fresh.refresh_token = fresh.refresh_token or tokens.refresh_token
    return fresh


def _token_request(client: httpx.Client, found: Provider, form: dict[str, str],
                   account: str | None) -> Tokens:
    form = {**form, found.id_field: found.client_id}
    headers = {}
    if found.basic_auth:  # X's confidential clients: HTTP Basic with id and secret
        pair = f"{quote(found.client_id)}:{quote(found.client_secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif found.client_secret:
        form["client_secret"] = found.client_secret
    what = account or f"{found.label} sign-in"
    try:
        response = client.post(found.token_url, data=form, headers=headers)
    except httpx.TransportError as exc:
        raise errors.PlatformUnavailable(
            f"{what}: cannot reach {found.token_url} ({exc}); try again") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise errors.PlatformUnavailable(
            f"{what}: {found.label}'s token endpoint answered {response.status_code}")
    body = _json(response)
    if response.status_code != 200 or "access_token" not in body:
        error = body.get("error")
        reason = body.get("error_description") or (
            error.get("message") if isinstance(error, dict) else error) or response.text[:200]
        # Facebook answers an expired or revoked token with OAuthException code 190.
        revoked = error == "invalid_grant" or (isinstance(error, dict)
                                                and error.get("code") == 190)
        if revoked and account:
            raise errors.AccountRevoked(
                f"{account}: {found.label} refused its refresh token ({reason}): the access "
                f"was revoked or expired; connect the account again")
        raise errors.PublishFailed(f"{what}: {found.label} refused the token request "
                                   f"({response.status_code}: {reason})")
    return Tokens(body["access_token"], body.get("refresh_token"),
                  time.time() + float(body.get("expires_in", 3600)), body.get("scope", ""))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(account: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(account, threading.Lock())


class Credentials:
    """An account's tokens while a publisher uses them: refreshed shortly before they
    expire, or when the platform answers 401; every new pair is handed to `save` (which
    encrypts and stores it) before it is used.

    X rotates refresh tokens, so two jobs of one account must not both spend the same
    one: refreshes of an account take turns, and each first reads the stored tokens
    (`load`), adopting a pair another job or process refreshed meanwhile.
    """

    def __init__(self, client: httpx.Client, found: Provider, tokens: Tokens, account: str,
                 save: Callable[[Tokens], None],
                 load: Callable[[], Tokens] | None = None) -> None:
        self.client, self.provider, self.tokens = client, found, tokens
        self.account, self._save, self._load = account, save, load

    def header(self) -> dict[str, str]:
        if self.tokens.expires_at - EARLY < time.time():
            self._refresh(self.tokens.access_token)
        return {"Authorization": f"Bearer {self.tokens.access_token}"}

    def refresh(self, rejected: str) -> None:
        """The platform refused `rejected` (an access token): get a new one."""
        self._refresh(rejected)

    def _refresh(self, rejected: str) -> None:
        with _lock_for(self.account):
            stored = self._load() if self._load else None
            if stored is not None and stored.access_token != rejected:
                self.tokens = stored  # someone refreshed already: use theirs
                if stored.expires_at - EARLY > time.time():
                    return
            self.tokens = refresh(self.client, self.provider, self.tokens, self.account)
            self._save(self.tokens)
