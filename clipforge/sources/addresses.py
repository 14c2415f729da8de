"""Which hosts ClipForge may fetch from, checked where connections are made.

Only http(s) URLs whose host resolves to a public address are fetched, unless private
ones are allowed (all, or named hosts). yt-dlp's connections (pages, manifests, media,
fragments, each redirect) resolve their host, check every address and connect to the
checked one, so a redirect into a private network is refused before its request is sent
and a host that resolves differently the second time (DNS rebinding) gains nothing.
ffmpeg, which fetches a section itself, goes through a local proxy (`proxy.py`) that
makes the same check where ffmpeg connects; an HLS playlist's hosts are checked before
ffmpeg starts.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3.util.connection
import yt_dlp.downloader.external
import yt_dlp.networking._requests
import yt_dlp.networking._urllib
import yt_dlp.utils

from clipforge import errors
from clipforge.config import Settings
from clipforge.sources.proxy import Check, CheckingProxy


@dataclass(frozen=True)
class Limits:
    allow_private: bool = False  # any private, loopback or link-local host
    private_hosts: frozenset[str] = frozenset()  # these hosts only, as the URL names them
    max_bytes: int = 20 << 30
    max_seconds: float = 24 * 3600.0


def limits_from(settings: Settings) -> Limits:
    return Limits(allow_private=settings.allow_private_urls,
                  private_hosts=frozenset(settings.private_hosts),
                  max_bytes=settings.max_download_mb << 20,
                  max_seconds=settings.max_duration_hours * 3600.0)


def check_url(url: str, allow_private: bool = False,
              private_hosts: Collection[str] = ()) -> None:
    """Refuse anything but http(s), and hosts that resolve into a private network (unless
    all private hosts are allowed, or this one by name)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise errors.UnsupportedSource(
            f"{url}: only http:// and https:// URLs can be fetched; give a video page, a "
            "media URL or a local file")
    if allow_private or parts.hostname in private_hosts:
        return
    host = parts.hostname
    try:
        found = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise errors.NoNetwork(
            f"{url}: cannot look up {host} ({exc}); check the address and that this "
            "machine is online") from exc
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not is_public(ip):
            raise errors.UnsafeUrl(
                f"{url}: {host} is a private, loopback or link-local address ({ip}); "
                "ClipForge only fetches public URLs (name the host in "
                "CLIPFORGE_PRIVATE_HOSTS, or set CLIPFORGE_ALLOW_PRIVATE_URLS=true, to "
                "allow it)")


# IPv6 prefixes that carry an IPv4 address in their low 32 bits: NAT64 (64:ff9b::/96,
# 64:ff9b:1::/48) and the deprecated IPv4-compatible form (::a.b.c.d). A private IPv4
# address hidden in one of them is as private as it is bare.
_EMBEDDING = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96")]


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global address, including every IPv4 address embedded in an IPv6 one (mapped,
    compatible, NAT64, 6to4, Teredo)."""
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return True
    embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    embedded += [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) for net in _EMBEDDING
                 if ip in net]
    return all(v4.is_global for v4 in embedded if v4 is not None)


def check(url: str, limits: Limits) -> None:
    check_url(url, limits.allow_private, limits.private_hosts)


# --- the check at connect time ------------------------------------------------------------
# yt-dlp opens its connections through urllib3's create_connection (its requests handler)
# or its own (its urllib handler, SOCKS proxies). Both are wrapped once: while a thread is
# inside a checked yt-dlp request, a connection resolves its host, refuses it if any
# address is private, and connects to the address it checked (the name still goes to TLS
# as SNI and for the certificate). Elsewhere the wrappers do nothing.

_guard = threading.local()


@contextmanager
def connections_checked(limits: Limits) -> Iterator[None]:
    outer = getattr(_guard, "limits", None)
    _guard.limits = limits
    try:
        yield
    finally:
        _guard.limits = outer


def checked_address(host: str, port: int, limits: Limits, url: str = "") -> str:
    """The address to connect to for HOST: one it resolves to now, every one of which is
    public (unless private hosts, or this one, are allowed: then HOST itself). URL, for
    the refusal, is what was being fetched."""
    if limits.allow_private or host in limits.private_hosts:
        return host
    url = url or (f"http://{host}:{port}/" if ":" not in host else
                  f"http://[{host}]:{port}/")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot look up {host}: {exc}") from exc
    addresses = [str(address[0]).split("%")[0] for *_, address in found]
    for text in addresses:
        if not is_public(ipaddress.ip_address(text)):
            raise errors.UnsafeUrl(
                f"{url}: {host} is a private, loopback or link-local address ({text}); "
                "ClipForge only fetches public URLs, where a redirect leads too (name the "
                "host in CLIPFORGE_PRIVATE_HOSTS, or set CLIPFORGE_ALLOW_PRIVATE_URLS=true, "
                "to allow it)")
    return addresses[0]


def _checking(create: Callable[..., socket.socket]) -> Callable[..., socket.socket]:
    if getattr(create, "clipforge_checked", False):
        return create

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any
                          ) -> socket.socket:
        limits = getattr(_guard, "limits", None)
        if limits is not None:
            host, port = address[0], address[1]
            address = (checked_address(str(host).strip("[]"), int(port), limits), port)
        return create(address, *args, **kwargs)

    create_connection.clipforge_checked = True  # type: ignore[attr-defined]
    return create_connection


_HOOKED = "create_connection"
for _module in (urllib3.util.connection, yt_dlp.networking._urllib,
                yt_dlp.networking._requests):
    setattr(_module, _HOOKED, _checking(getattr(_module, _HOOKED)))


# --- ffmpeg goes through a checking proxy -------------------------------------------------
# ffmpeg opens its own connections (a section's media, HLS segments, redirects), out of
# reach of the hook above. For the duration of a download a CheckingProxy runs on
# 127.0.0.1 and ffmpeg is told to use it: `-http_proxy` (which its HLS reader passes on to
# each segment, and https to its CONNECT tunnel) and `http_proxy` in its environment.
# `no_proxy` is taken out of that environment: ffmpeg bypasses the proxy for any host it
# names (`no_proxy=*`: all of them).


def proxy_check(limits: Limits) -> Check:
    def check(host: str, port: int, url: str) -> str:
        return checked_address(host, port, limits, url)

    return check


@contextmanager
def ffmpeg_through(proxy: CheckingProxy) -> Iterator[None]:
    outer = getattr(_guard, "ffmpeg_proxy", None)
    _guard.ffmpeg_proxy = proxy.url
    try:
        yield
    finally:
        _guard.ffmpeg_proxy = outer


class _ProxiedPopen(yt_dlp.utils.Popen):
    """How yt-dlp starts ffmpeg: inside a download, with the proxy in its environment
    and no `no_proxy`."""

    def __init__(self, args: Any, *rest: Any, env: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        proxy_url = getattr(_guard, "ffmpeg_proxy", None)
        if proxy_url is not None:
            env = {key: value for key, value in (env or os.environ).items()
                   if key.lower() != "no_proxy"}
            env["http_proxy"] = env["HTTP_PROXY"] = proxy_url
        super().__init__(args, *rest, env=env, **kwargs)


yt_dlp.downloader.external.Popen = _ProxiedPopen


def check_playlist(text: str, url: str, limits: Limits) -> None:
    """Check every URL an HLS playlist at URL names (segments, keys, init sections)."""
    hosts: dict[tuple[str, str | None], str] = {}
    for line in text.splitlines():
        line = line.strip()
        found = [line] if line and not line.startswith("#") else \
            [part.split('"')[1] for part in line.split("URI=")[1:] if '"' in part]
        for ref in found:
            absolute = urljoin(url, ref)
            parts = urlsplit(absolute)
            hosts.setdefault((parts.scheme, parts.hostname), absolute)
    for absolute in hosts.values():
        check(absolute, limits)
