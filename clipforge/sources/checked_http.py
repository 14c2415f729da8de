"""Plain HTTP GETs that pass the same address checks as the VOD ingest (`addresses.py`):
the URL's host before the request, each connection where it is made (urllib3's
`create_connection`, hooked there, resolves, checks every address and connects to the
checked one) and each redirect's target before it is followed. Bodies are streamed and
bounded. Used where ClipForge fetches without yt-dlp (a live HLS playlist and its
segments)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import urllib3

from clipforge import errors
from clipforge.sources.addresses import Limits, check, connections_checked

MAX_REDIRECTS = 5
BLOCK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
Write = Callable[[bytes], object]


class Transient(Exception):
    """A failure that may pass: a cut or refused connection, a timeout, a 5xx or 429."""


@dataclass(frozen=True)
class Answer:
    status: int  # 200, or the refusal (404, 403, ...); transient ones raise instead
    url: str  # where the last redirect led
    body: bytes = b""


class CheckedHttp:
    def __init__(self, limits: Limits, timeout: float = 20.0) -> None:
        self.limits = limits
        self._pool = urllib3.PoolManager(
            retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def get(self, url: str, max_bytes: int) -> Answer:
        """The body of URL (at most MAX_BYTES, else TooLarge), or its refusal status."""
        chunks: list[bytes] = []
        answer = self._fetch(url, max_bytes, chunks.append)
        return Answer(answer.status, answer.url, b"".join(chunks))

    def download(self, url: str, dst: Path, max_bytes: int) -> Answer:
        """URL's body into DST (written as DST.part, then renamed), or its refusal."""
        tmp = dst.with_name(dst.name + ".part")
        with tmp.open("wb") as sink:
            answer = self._fetch(url, max_bytes, sink.write)
        if answer.status == 200:
            tmp.replace(dst)
        else:
            tmp.unlink(missing_ok=True)
        return answer

    def _fetch(self, url: str, max_bytes: int, write: Write) -> Answer:
        for _ in range(MAX_REDIRECTS + 1):
            check(url, self.limits)
            try:
                with connections_checked(self.limits):
                    response = self._pool.request("GET", url, redirect=False,
                                                  preload_content=False)
            except urllib3.exceptions.HTTPError as exc:
                raise Transient(f"{url}: {type(exc).__name__}") from exc
            try:
                location = response.headers.get("Location")
                if response.status in REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                if response.status >= 500 or response.status == 429:
                    raise Transient(f"{url}: HTTP {response.status}")
                if response.status != 200:
                    return Answer(response.status, url)
                self._stream(response, url, max_bytes, write)
                return Answer(200, url)
            finally:
                response.release_conn()
        raise errors.DownloadFailed(f"{url}: more than {MAX_REDIRECTS} redirects; check the URL")

    @staticmethod
    def _stream(response: urllib3.BaseHTTPResponse, url: str, max_bytes: int,
                write: Write) -> None:
        got = 0
        try:
            for block in response.stream(BLOCK):
                got += len(block)
                if got > max_bytes:
                    raise errors.TooLarge(f"{url}: larger than {max_bytes >> 20} MB; is it "
                                          "a live stream's playlist or segment?")
                write(block)
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # cut mid-body
            raise Transient(f"{url}: {type(exc).__name__} while reading") from exc
