"""The ingest job: download a URL's analysis rendition (a file is used as it is), extract
the audio once and compute the cheap per-second audio signals over the whole stream."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from clipforge import domain, errors
from clipforge.analysis import chunk as chunking
from clipforge.analysis import languages, signals
from clipforge.config import Settings
from clipforge.domain import MediaInfo
from clipforge.jobs.base import Finished, Result, spec
from clipforge.jobs.chat import chat_messages
from clipforge.jobs.chunk import audio_path, chunk_spec
from clipforge.jobs.context import Run
from clipforge.jobs.language import language_spec
from clipforge.media import ffmpeg
from clipforge.sources import ingest as sources
from clipforge.sources import twitch_chat
from clipforge.storage import artifacts, ledger, store
from clipforge.storage.ledger import JobSpec

log = logging.getLogger(__name__)
DOWNLOAD_SHARE = 0.9  # of the ingest progress bar, for a URL stream


@dataclass(frozen=True)
class IngestInput:
    # A URL stream: the rendition downloaded for analysis ("720p", or "full" quality),
    # which decides everything after it. None for a local file.
    download: str | None = None
    chat: str | None = None  # the digest of the chat file the user gave


def first(source: str, settings: Settings, chat: Path | None) -> JobSpec:
    """The job that starts a stream's run (CHAT: the chat file the user gave)."""
    digest = artifacts.file_digest(chat) if chat is not None else None
    if not sources.is_url(source):
        return spec("ingest", "stream", IngestInput(chat=digest))
    fetched = "full" if settings.download_full else f"{settings.analysis_height}p"
    return spec("ingest", "stream", IngestInput(download=fetched, chat=digest))


def run(run: Run, inp: IngestInput) -> Result:
    run.progress.advance("ingest", 0.0)
    output: dict[str, Any] = {}
    if sources.is_url(run.source):
        output = fetch(run)
        run.info = MediaInfo(**output["media"])  # from here on, the downloaded file
    samples = chunking.extract_audio(run.info, audio_path(run))
    result = signals.audio_signals(samples, run.seconds)
    path = run.artifact(".npz")
    tmp = path.with_name(path.stem + ".part.npz")
    np.savez(tmp, **result.arrays())  # type: ignore[arg-type]  # numpy stubs: allow_pickle
    tmp.replace(path)
    chat = run.options.chat or (Path(output["chat"]) if output.get("chat") else None)
    if chat is not None:  # what the chunk and score jobs' keys hold of the chat
        output["chat_digest"] = inp.chat or artifacts.file_digest(chat)
        output["chat_messages"] = len(chat_messages(chat))
    run.progress.advance("ingest", 1.0 - DOWNLOAD_SHARE if sources.is_url(run.source)
                         else 1.0)
    return Result(path, output)


def fetch(run: Run) -> dict[str, Any]:
    """Download what a URL stream is analyzed from (the low rendition, or everything in
    full quality with `download_full`) and its chat replay when the site has one."""
    s = run.settings
    fmt = sources.RENDER_FORMAT if s.download_full else sources.analysis_format(
        s.analysis_height)
    done = [0.0]

    def tick(fraction: float) -> None:
        if fraction > done[0]:
            run.progress.advance("ingest", DOWNLOAD_SHARE * (fraction - done[0]))
            done[0] = fraction

    chat = run.options.chat is None
    path = sources.download(run.source, run.work / "source", "media", fmt,
                            sources.limits_from(s), on_progress=tick, live_chat=chat)
    info = ffmpeg.probe(store.portable(path))  # the ledger keeps it: no machine's own path
    if info.duration > s.max_duration_hours * 3600.0:
        raise errors.TooLong(f"{run.source}: lasts {info.duration / 3600:.1f} h, longer than "
                             f"the limit of {s.max_duration_hours:g} h "
                             "(CLIPFORGE_MAX_DURATION_HOURS)")
    replay = run.work / "source" / "media.live_chat.json"
    found, problem = (replay if replay.exists() else None), None
    if chat and found is None:
        found, problem = twitch_chat_replay(run, info.duration)
    run.progress.advance("ingest", DOWNLOAD_SHARE - done[0])
    return {"media": asdict(info), "chat": str(found) if found else None,
            "chat_error": problem}


def twitch_chat_replay(run: Run, duration: float) -> tuple[Path | None, str | None]:
    """A Twitch VOD's chat replay, or why there is none: chat only adds to the picks,
    so a stream whose chat cannot be fetched goes on without it."""
    vod = twitch_chat.video_id(run.source)
    if vod is None:
        return None, None
    endpoint = twitch_chat.Endpoint(run.settings.twitch_gql_url, run.settings.twitch_client_id)
    try:
        return twitch_chat.download(vod, run.work / "source" / "media.twitch_chat.jsonl",
                                    endpoint, duration), None
    except errors.ChatUnavailable as exc:
        log.warning("%s", exc.message)
        return None, exc.message


def reads(run: Run, _inp: IngestInput) -> list[str]:
    return [run.info.path]


def follow(done: Finished, _inp: IngestInput) -> list[JobSpec]:
    """A URL stream's media is, from ingest on, the file ingest downloaded (and its chat
    replay the one that came with it, unless the user gave one). Then: detect the
    language (`auto`), or chunk in the language asked for."""
    stream, run, out = done.stream, done.run, done.output
    if out.get("media"):
        info = MediaInfo(**out["media"])
        stream.info, stream.duration, run.info = asdict(info), info.duration, info
    if out.get("chat") and run.options.chat is None:
        run.options = replace(run.options, chat=Path(out["chat"]))
        stream.options = run.options.to_json()
    if out.get("chat_error"):
        ledger.emit(done.s, domain.STREAM_NOTICE, stream.id, message=out["chat_error"])
    requested = run.options.language or run.settings.language
    if requested == languages.AUTO:
        return [language_spec(done)]
    stream.language = requested
    return [chunk_spec(run, done.job)]
