"""One clip of a live stream, made from the follower's ring: the moment's window of
segments joined into one file, its speech transcribed, the clip's bounds fixed at
sentences (with its score, reasons and title from the same fusion as a VOD run), then
planned and rendered by the VOD's plan and render steps.

The window file has its own time 0 (its first segment's start); the steps work in window
time, and the clip is reported in stream time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from clipforge.analysis import bounds, languages, moments, score, transcribe
from clipforge.analysis.signals import AudioSignals, ChatSignals
from clipforge.domain import Candidate, Chunk, Segment, Word
from clipforge.jobs import plan, render
from clipforge.jobs.context import Run
from clipforge.media import ffmpeg
from clipforge.sources.live_hls import LiveSegment
from clipforge.storage import artifacts

__all__ = ["Heard", "History", "Made", "Window", "fix_bounds", "join_window", "make_clip"]


@dataclass
class History:
    """The newest per-second features of the stream (and the chat over them): what a
    moment is found and scored in. `first` is the stream second of index 0."""

    first: int
    audio: AudioSignals
    chat: ChatSignals | None

    @property
    def seconds(self) -> int:
        return len(self.audio.loudness)


@dataclass(frozen=True)
class Window:
    start: float  # stream seconds of the window file's time 0
    end: float
    video: Path
    audio: Path


@dataclass(frozen=True)
class Made:
    candidate: Candidate  # in stream time
    file: Path
    layout: str
    regions: dict[str, Any] | None
    transcript: Path  # the window's speech, in stream time


def join_window(segments: list[LiveSegment], folder: Path, name: str) -> Window:
    """The segments (contiguous, in order) as one MP4 and one WAV."""
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / f"{name}.txt"
    listing.write_text("".join(f"file '{s.path.resolve()}'\n" for s in segments))
    video = folder / f"{name}.mp4"
    ffmpeg.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
                "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart",
                str(video)], f"joining the live segments of {name}")
    pieces = [ffmpeg.read_wav(s.audio) if s.audio else
              np.zeros(int(s.duration * ffmpeg.AUDIO_RATE), np.float32) for s in segments]
    audio = folder / f"{name}.wav"
    ffmpeg.write_wav(audio, np.concatenate(pieces) if pieces else np.zeros(0, np.float32))
    return Window(segments[0].start, segments[-1].end, video, audio)


@dataclass(frozen=True)
class Heard:
    candidate: Candidate  # in stream time
    segments: list[Segment]  # the window's speech, in stream time
    transcript: Path  # the same, as a file


def fix_bounds(run: Run, window: Window, history: History, found: moments.Moment,
               model: object) -> Heard:
    """Transcribe the window and fix the clip around the moment."""
    heard = list(transcribe.transcribe(
        Chunk(index=0, start=window.start, end=window.end, audio=str(window.audio)),
        model, run.language))
    transcript = window.video.with_suffix(".words.json")
    artifacts.write_json(transcript, artifacts.to_json(heard))
    return Heard(_candidate(run, history, heard, found, window), heard, transcript)


def make_clip(run: Run, window: Window, heard: Heard, clip_id: str) -> Made:
    """Plan and render the clip (RUN: the stream's, its info and source the window's)."""
    cand = heard.candidate
    words_file = window.video.with_suffix(".local.json")
    artifacts.write_json(words_file, artifacts.to_json(_shifted(heard.segments,
                                                                -window.start)))
    bounds_local = render.ClipBounds(clip_id, round(cand.start - window.start, 3),
                                     round(cand.end - window.start, 3),
                                     cand.peak - window.start, cand.title)
    style = asdict(plan.caption_style(run.options, None))
    planned = plan.run(run.for_job("plan", clip_id, clip_id + "-live"), plan.PlanInput(
        clip=bounds_local, layout=run.options.layout or "auto", edited=None,
        captions_text=None, caption_edits=None, style=style, inputs=[], references=[],
        aspect=run.options.aspect or "9:16", vision=plan.vision_settings(run.settings),
        transcripts=[str(words_file)]))
    out = planned.output or {}
    s = run.settings
    rendered = render.run(run.for_job("render", clip_id, clip_id + "-live"),
                          render.RenderInput(
        clip=bounds_local, layout=out["layout"], regions=out["regions"], style=style,
        captions_text=None, caption_edits=None, captions=run.options.captions,
        lufs=s.target_lufs, preset=s.x264_preset, crf=s.x264_crf,
        out=str(run.options.out_dir), content=out["content"], references=[],
        transcripts=[str(words_file)], analyses=[out["vision"]],
        aspect=run.options.aspect or "9:16"))
    return Made(cand, rendered.path, out["layout"], out["regions"], heard.transcript)


def _shifted(segments: list[Segment], by: float) -> list[Segment]:
    def word(w: Word) -> Word:
        return replace(w, start=round(w.start + by, 3), end=round(w.end + by, 3))

    return [replace(seg, start=round(seg.start + by, 3), end=round(seg.end + by, 3),
                    words=[word(w) for w in seg.words]) for seg in segments]


def _candidate(run: Run, history: History, heard: list[Segment], found: moments.Moment,
               window: Window) -> Candidate:
    """The clip around the moment's peak, scored as a VOD run scores: all the features
    (the transcript's too) over the history, the peak free to move a few seconds, bounds
    at sentences within the window. Without a peak above the bar once the words count
    (speech is not loud non-speech), the moment keeps its own peak and bounds."""
    first, opts = history.first, run.options
    local = _shifted(heard, -first)
    inputs = score.Inputs(
        seconds=history.seconds, audio=history.audio, segments=local, chat=history.chat,
        lexicon=frozenset(languages.words_for(run.language).hype
                          | languages.words_for(run.language).laughter),
        setup=frozenset(languages.words_for(run.language).setup))
    allowed = np.zeros(history.seconds, bool)
    peak = int(found.peak) - first
    allowed[max(0, peak - 3): peak + 4] = True
    allowed[: max(0, int(np.ceil(window.start)) - first)] = False
    picked, _ = score.pick(inputs, 1, opts.min_len, opts.max_len, run.weights,
                           allowed=allowed)
    if picked:  # kept within the window (the silence either side may reach past it)
        c = picked[0]
        return replace(c, start=round(max(c.start + first, window.start), 3),
                       end=round(min(c.end + first, window.end), 3), peak=c.peak + first)
    words = [w for seg in heard for w in seg.words]
    start, end = bounds.clip_bounds(found.peak, bounds.sentences(heard), words, opts.min_len,
                                    opts.max_len, window.end)
    start = max(start, window.start)
    said = " ".join(w.word for w in words if start <= w.start < end)
    return Candidate(rank=1, start=start, end=end, peak=found.peak, score=found.score,
                     reasons={"moment": found.score}, title=said[:60] or
                     f"Live moment at {found.peak:.0f} s")
