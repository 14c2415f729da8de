"""A stream's clips as an editor's timeline (OpenTimelineIO), and that timeline as the
files editors import: OTIO JSON, FCPXML (Final Cut Pro, DaVinci Resolve), CMX 3600 EDL
(Premiere), and the burned-in captions as SRT and WebVTT on the same time axis.

Pure: it takes plain values and returns text; services/export.py reads them from the
database.

Times. A clip's bounds are float seconds; an editor counts frames. Each bound becomes the
first source frame at or after it (`frame`): the frames the rendered clip shows, since
the renderer seeks to the start and stops before the end. The timeline runs at the
recording's frame rate (`timeline_rate`), snapped to the standard rate it is a rounding
of (29.97 is 30000/1001); a rate timecode cannot count (15, 10, 12.5 fps) is counted at
the smallest standard rate that is a whole multiple of it, so every source frame is still
a whole number of timeline frames; an audio-only recording is counted at 30 fps.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from urllib.parse import urlsplit
from urllib.request import url2pathname
from xml.etree import ElementTree

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from clipforge import errors
from clipforge.analysis.subtitles import Cue, srt, vtt

STANDARD_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                  Fraction(30), Fraction(48), Fraction(50), Fraction(60000, 1001),
                  Fraction(60))
AUDIO_ONLY_RATE = Fraction(30)
FCPXML_VERSION = "1.8"  # asset `src` attribute; read by Final Cut Pro 10.4.1+ and Resolve 17+
EDL_TITLE_CHARS = 70


@dataclass(frozen=True)
class Recording:
    """The stream's recording, as its clips reference it."""

    name: str  # the stream's name: the timeline's
    url: str  # file:// URL (or the web address) of the recording
    file_name: str
    duration: float  # seconds
    fps: float  # as probed; 0 for audio only
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class ExportClip:
    id: str
    rank: int
    title: str
    start: float  # seconds in the recording
    end: float
    peak: float
    score: float
    reasons: Mapping[str, float] = field(default_factory=dict)
    cues: tuple[Cue, ...] = ()  # the burned-in captions, seconds from the clip's start


@dataclass(frozen=True)
class Rate:
    """The timeline's rate and how many of its frames one source frame lasts."""

    timeline: Fraction
    per_source_frame: int

    @property
    def source(self) -> Fraction:
        return self.timeline / self.per_source_frame


def timeline_rate(fps: float) -> Rate:
    """The rate a recording's clips are counted at (see the module's doc)."""
    if fps <= 0:
        return Rate(AUDIO_ONLY_RATE, 1)
    for rate in STANDARD_RATES:
        if abs(fps - float(rate)) <= float(rate) * 1e-3:
            return Rate(rate, 1)
    source = Fraction(fps).limit_denominator(1001)
    for rate in STANDARD_RATES:
        multiple = rate / source
        if multiple.denominator == 1 and multiple > 1:
            return Rate(rate, int(multiple))
    return Rate(source, 1)  # no standard multiple: FCPXML and OTIO take it, an EDL cannot


def frame(seconds: float, rate: Rate) -> int:
    """The timeline frame of the first source frame at or after SECONDS (a float a hair
    past a frame's time, from arithmetic, counts as that frame)."""
    return math.ceil(round(seconds * float(rate.source), 6)) * rate.per_source_frame


def clip_frames(clip: ExportClip, rate: Rate) -> tuple[int, int]:
    """The clip's first frame and the frame after its last (at least one frame long)."""
    first = frame(clip.start, rate)
    return first, max(frame(clip.end, rate), first + rate.per_source_frame)


def peak_note(clip: ExportClip) -> str:
    """What the peak marker says: the clip's rank, score and why it was picked."""
    top = sorted(clip.reasons.items(), key=lambda kv: -kv[1])
    why = ", ".join(f"{name.replace('_', ' ')} {value:+.2f}" for name, value in top
                    if abs(value) >= 0.005)
    return f"Peak #{clip.rank} score {clip.score:.2f}" + (f": {why}" if why else "")


def timeline(recording: Recording, clips: list[ExportClip]) -> otio.schema.Timeline:
    """The clips one after the other in the order they happened, each referencing the
    recording with its range, and a marker at its peak naming its score and reasons."""
    rate = timeline_rate(recording.fps)
    fps = float(rate.timeline)
    found = otio.schema.Timeline(name=recording.name)
    kind = otio.schema.TrackKind.Video if recording.fps > 0 else otio.schema.TrackKind.Audio
    track = otio.schema.Track(name="V1" if recording.fps > 0 else "A1", kind=kind)
    found.tracks.append(track)
    length = frame(recording.duration, rate)
    for clip in sorted(clips, key=lambda c: (c.start, c.rank)):
        first, after = clip_frames(clip, rate)
        media = otio.schema.ExternalReference(
            target_url=recording.url,
            available_range=TimeRange(RationalTime(0, fps),
                                      RationalTime(max(length, after), fps)))
        media.name = recording.file_name
        item = otio.schema.Clip(
            name=clip.title, media_reference=media,
            source_range=TimeRange(RationalTime(first, fps), RationalTime(after - first, fps)),
            metadata={"clipforge": {"id": clip.id, "rank": clip.rank, "score": clip.score,
                                    "start": clip.start, "end": clip.end,
                                    "peak": clip.peak, "reasons": dict(clip.reasons)}})
        at = min(max(frame(clip.peak, rate), first), after - 1)
        item.markers.append(otio.schema.Marker(
            name=peak_note(clip), color=otio.schema.MarkerColor.RED,
            marked_range=TimeRange(RationalTime(at, fps), RationalTime(0, fps)),
            metadata={"clipforge": {"kind": "peak", "reasons": dict(clip.reasons)}}))
        track.append(item)
    return found


def otio_json(found: otio.schema.Timeline) -> str:
    text: str = otio.adapters.write_to_string(found, "otio_json")
    return text


def edl(found: otio.schema.Timeline) -> str:
    """CMX 3600, as Premiere reads it, by OTIO's adapter: a TITLE and FCM line, one event
    per clip (reel AX, `* FROM CLIP NAME:` the recording's file) and a `* LOC:` comment at
    its peak. NTSC rates are written in drop-frame timecode (OTIO's choice)."""
    rate = found.tracks[0].duration().rate
    if not RationalTime.is_valid_timecode_rate(rate):
        raise errors.BadOption(f"the recording's frame rate ({rate:g} fps) has no timecode, "
                               "which an EDL needs; export fcpxml or otio instead")
    ascii_copy = copy.deepcopy(found)
    ascii_copy.name = _ascii(found.name)[:EDL_TITLE_CHARS] or "ClipForge"
    for item in ascii_copy.find_clips():
        url = item.media_reference.target_url  # Premiere relinks by the file's own name
        if url.startswith("file:"):
            item.media_reference.target_url = url2pathname(urlsplit(url).path)
        for marker in item.markers:
            marker.name = _ascii(marker.name)
    if ascii_copy.tracks[0].kind == otio.schema.TrackKind.Audio:
        # The adapter writes the first track and wants exactly one video track: an empty
        # one after the audio makes an audio-only recording's events (channel A).
        ascii_copy.tracks.append(otio.schema.Track(kind=otio.schema.TrackKind.Video))
    text: str = otio.adapters.write_to_string(ascii_copy, "cmx_3600", style="premiere")
    fcm = "FCM: DROP FRAME" if _is_drop_frame(rate) else "FCM: NON-DROP FRAME"
    title, _, rest = text.partition("\n\n")
    return f"{title}\n{fcm}\n\n{rest}"


def _is_drop_frame(rate: float) -> bool:
    return any(abs(rate - float(r)) < 1e-6 for r in STANDARD_RATES if r.denominator == 1001)


def _ascii(text: str) -> str:
    """What an EDL (7-bit text) can carry of TEXT, on one line."""
    return " ".join(text.encode("ascii", "replace").decode().replace("?", " ").split())


def _seconds(frames: int, rate: Fraction) -> str:
    """FCPXML rational time: FRAMES at RATE as `N/Ds` (or `Ns`), exactly."""
    value = Fraction(frames) / rate
    return f"{value.numerator}s" if value.denominator == 1 else \
        f"{value.numerator}/{value.denominator}s"


def fcpxml(found: otio.schema.Timeline, recording: Recording) -> str:
    """FCPXML 1.8: the recording as one asset, a project whose sequence's spine holds an
    asset-clip per clip (a marker at its peak). Every time is a whole number of frames
    as an exact fraction (1001/30000s per frame at 29.97): OTIO's own FCP X writer turns
    times into floats and has no frame duration for 29.97 or 59.94."""
    rate = timeline_rate(recording.fps).timeline
    ntsc = rate.denominator == 1001
    clips = list(found.find_clips())
    length = max([frame(recording.duration, timeline_rate(recording.fps))] +
                 [c.source_range.end_time_exclusive().to_frames() for c in clips])
    root = ElementTree.Element("fcpxml", version=FCPXML_VERSION)
    resources = ElementTree.SubElement(root, "resources")
    width, height = (recording.width, recording.height) if recording.fps > 0 else (1920, 1080)
    ElementTree.SubElement(resources, "format", id="r1", frameDuration=_seconds(1, rate),
                           width=str(width), height=str(height))
    asset = {"id": "r2", "name": recording.file_name, "src": recording.url, "start": "0s",
             "duration": _seconds(length, rate), "hasAudio": "1",
             "hasVideo": "1" if recording.fps > 0 else "0", "audioSources": "1"}
    if recording.fps > 0:
        asset["format"] = "r1"
    ElementTree.SubElement(resources, "asset", asset)
    event = ElementTree.SubElement(ElementTree.SubElement(root, "library"), "event",
                                   name="ClipForge")
    project = ElementTree.SubElement(event, "project", name=found.name or "ClipForge")
    total = sum(c.source_range.duration.to_frames() for c in clips)
    tc_format = "DF" if ntsc else "NDF"
    sequence = ElementTree.SubElement(project, "sequence", format="r1",
                                      duration=_seconds(total, rate), tcStart="0s",
                                      tcFormat=tc_format)
    spine = ElementTree.SubElement(sequence, "spine")
    offset = 0
    for item in clips:
        first = item.source_range.start_time.to_frames()
        frames = item.source_range.duration.to_frames()
        element = ElementTree.SubElement(spine, "asset-clip", {
            "ref": "r2", "name": item.name, "offset": _seconds(offset, rate),
            "start": _seconds(first, rate), "duration": _seconds(frames, rate),
            "format": "r1", "tcFormat": tc_format})
        for marker in item.markers:
            ElementTree.SubElement(element, "marker", {
                "start": _seconds(marker.marked_range.start_time.to_frames(), rate),
                "duration": _seconds(1, rate), "value": marker.name})
        offset += frames
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'


def sequence_cues(found: otio.schema.Timeline, clips: list[ExportClip]) -> list[Cue]:
    """Every clip's burned-in captions on the exported sequence's time axis: a caption
    sits where its words play once the clips are laid one after the other as in the
    timeline, inside its clip's frames."""
    by_id = {c.id: c for c in clips}
    result: list[Cue] = []
    for item in found.find_clips():
        clip = by_id[item.metadata["clipforge"]["id"]]
        placed = item.trimmed_range_in_parent()
        assert placed is not None
        rec_in = placed.start_time.to_seconds()
        rec_out = placed.end_time_exclusive().to_seconds()
        src_in = item.source_range.start_time.to_seconds()
        shift = rec_in + clip.start - src_in  # clip time 0 is the recording's clip.start
        for cue in clip.cues:
            start, end = max(rec_in, cue.start + shift), min(rec_out, cue.end + shift)
            if end > start:
                result.append(Cue(start, end, cue.text))
    return result


def captions(found: otio.schema.Timeline, clips: list[ExportClip], kind: str) -> str:
    """The stream's captions as SRT or WebVTT, timed on the exported sequence."""
    cues = sequence_cues(found, clips)
    return srt(cues) if kind == "srt" else vtt(cues)
