"""HLS playlists (RFC 8216), read as text: a master playlist's renditions, or a media
playlist's segments with their media sequence numbers. No network here: `live_hls.py`
fetches and follows them.

Only what following a live stream needs is read: `#EXT-X-TARGETDURATION`,
`#EXT-X-MEDIA-SEQUENCE`, `#EXTINF`, `#EXT-X-ENDLIST`, `#EXT-X-STREAM-INF` (BANDWIDTH,
RESOLUTION). Encrypted segments (`#EXT-X-KEY` other than NONE) and fragmented MP4
(`#EXT-X-MAP`) are refused with a clear error: each segment must decode on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from clipforge import errors

__all__ = ["MediaPlaylist", "Segment", "Variant", "parse", "pick_variant"]

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class Segment:
    sequence: int  # media sequence number: a segment's identity across polls
    duration: float  # seconds (#EXTINF)
    url: str  # absolute


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration: float
    segments: list[Segment]
    ended: bool  # #EXT-X-ENDLIST: no segment will be added


@dataclass(frozen=True)
class Variant:
    url: str
    bandwidth: int
    height: int  # 0 when the playlist does not say (audio only, say)


def parse(text: str, url: str) -> MediaPlaylist | list[Variant]:
    """The playlist at URL (relative references are resolved against it)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise errors.UnsupportedSource(f"{url}: not an HLS playlist (no #EXTM3U); give the "
                                       "URL of a live stream's .m3u8 playlist")
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        return _variants(lines, url)
    return _media(lines, url)


def _attributes(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(line.split(":", 1)[-1])}


def _variants(lines: list[str], url: str) -> list[Variant]:
    found = []
    for tag, ref in zip(lines, lines[1:], strict=False):
        if tag.startswith("#EXT-X-STREAM-INF") and not ref.startswith("#"):
            attrs = _attributes(tag)
            size = attrs.get("RESOLUTION", "")
            height = int(size.split("x")[1]) if re.fullmatch(r"\d+x\d+", size) else 0
            found.append(Variant(urljoin(url, ref), int(attrs.get("BANDWIDTH", "0") or 0),
                                 height))
    return found


def _media(lines: list[str], url: str) -> MediaPlaylist:
    target, sequence, duration, ended = 0.0, 0, None, False
    segments = []
    for line in lines:
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",")[0])
        elif line.startswith("#EXT-X-ENDLIST"):
            ended = True
        elif line.startswith("#EXT-X-KEY") and _attributes(line).get("METHOD") != "NONE":
            raise errors.UnsupportedSource(f"{url}: the stream is encrypted (#EXT-X-KEY); "
                                           "ClipForge follows unencrypted HLS only")
        elif line.startswith("#EXT-X-MAP"):
            raise errors.UnsupportedSource(
                f"{url}: the stream uses fragmented MP4 segments (#EXT-X-MAP); ClipForge "
                "follows MPEG-TS segments only (pick another rendition or source)")
        elif not line.startswith("#"):
            segments.append(Segment(sequence, duration if duration is not None else target,
                                    urljoin(url, line)))
            sequence, duration = sequence + 1, None
    if target <= 0:
        raise errors.UnsupportedSource(f"{url}: a media playlist without "
                                       "#EXT-X-TARGETDURATION; give a valid HLS playlist")
    return MediaPlaylist(target, segments, ended)


def pick_variant(variants: list[Variant], max_height: int, url: str) -> Variant:
    """The best rendition of at most MAX_HEIGHT lines (by height, then bandwidth), else
    the smallest one there is."""
    if not variants:
        raise errors.UnsupportedSource(f"{url}: a master playlist naming no rendition")
    fitting = [v for v in variants if 0 < v.height <= max_height]
    if fitting:
        return max(fitting, key=lambda v: (v.height, v.bandwidth))
    sized = [v for v in variants if v.height > 0]
    if sized:
        return min(sized, key=lambda v: (v.height, v.bandwidth))
    return max(variants, key=lambda v: v.bandwidth)
