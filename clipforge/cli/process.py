"""Commands on streams and clips: process, feedback, publish, export."""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich import box
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from clipforge import errors
from clipforge.cli.app import app, stderr, stdout
from clipforge.config import get_settings


class RichProgress:
    """A bar per stage, with ETA; stages done by an earlier run say so."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}
        self.lock = threading.Lock()

    def begin(self, stage: str, total: float) -> None:
        with self.lock:
            if stage not in self.tasks:
                self.tasks[stage] = self.bars.add_task(stage, total=max(total, 1e-9))

    def advance(self, stage: str, amount: float) -> None:
        self.bars.advance(self.tasks[stage], amount)

    def item(self, stage: str, name: str, fraction: float, seconds_left: float | None
             ) -> None:
        """A bar per stage says enough in a terminal."""

    def end(self, stage: str, skipped: bool = False) -> None:
        task = self.tasks[stage]
        total = self.bars.tasks[task].total or 0
        label = f"{stage} [dim](done earlier)[/dim]" if skipped else stage
        self.bars.update(task, completed=total, description=label)


def _bars(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<22}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        console=stderr, disable=quiet, transient=False,
    )


def print_summary(report: dict[str, Any], out: Path) -> None:
    table = Table(title=f"{len(report['clips'])} clips from {report['stream']['source']}",
                  box=box.SIMPLE_HEAD)
    for column in ("#", "at", "score", "layout"):
        table.add_column(column, no_wrap=True)
    table.add_column("title", min_width=16, ratio=1)
    names = [Path(clip["file"]).name for clip in report["clips"]]
    table.add_column("file", no_wrap=True, min_width=max(map(len, names), default=4))
    for clip, name in zip(report["clips"], names, strict=True):
        table.add_row(
            str(clip["rank"]), f"{_clock(clip['start'])}-{_clock(clip['end'])}",
            f"{clip['score']:.2f}", clip["layout"],
            clip["title"], name,
        )
    stdout.print(table)
    stdout.print(f"Clips are in [bold]{out / 'clips'}[/bold], details in "
                 f"[bold]{out / 'report.json'}[/bold]")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes}:{secs:04.1f}"


def source_name(source: str) -> str:
    """A folder name for a source: the file's stem; for a URL, its last path part and
    query (`watch?v=ID` -> `watch_v_ID`)."""
    if "://" not in source:
        return Path(source).stem
    parts = urlsplit(source)
    name = "_".join(p for p in (Path(parts.path).stem, parts.query) if p)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or parts.hostname or "url"


@app.command()
def process(
    source: Annotated[str, typer.Argument(
        help="A video or audio file of the stream, or a URL (Twitch or YouTube VOD, or a "
             "media URL).")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder [default: ./clipforge-out/<source name>]")] = None,
    chat: Annotated[Path | None, typer.Option(
        help='Chat replay: JSON Lines {"t": seconds, "user": ..., "text": ...}, yt-dlp '
             'live_chat, chat-downloader or TwitchDownloader JSON')] = None,
    top: Annotated[int | None, typer.Option(help="How many clips to make.")] = None,
    layout: Annotated[str | None, typer.Option(
        help="auto, crop, blur or stacked [default: the streamer's, else auto]")] = None,
    caption_style: Annotated[str | None, typer.Option(
        help="Caption preset: classic, bold, clean or oneword [default: the streamer's, "
             "else classic]")] = None,
    aspect: Annotated[str | None, typer.Option(
        help="9:16 (1080x1920), 1:1 (1080x1080) or 16:9 (1920x1080) [default: the "
             "streamer's, else 9:16]")] = None,
    language: Annotated[str | None, typer.Option(
        help="Spoken language: auto (detected from the first minutes of speech) or a code "
             "such as en, es, pt, de, fr, ru, ja, ko [default: the streamer's, else the "
             "`language` setting, en]")] = None,
    min_len: Annotated[float | None, typer.Option(help="Shortest clip, seconds.")] = None,
    max_len: Annotated[float | None, typer.Option(help="Longest clip, seconds.")] = None,
    captions: Annotated[bool, typer.Option(help="Burn in captions.")] = True,
    streamer: Annotated[str, typer.Option(
        help="Whose stream: their chat lag and preferences apply.")] = "default",
    full_transcript: Annotated[bool, typer.Option(
        help="Transcribe and analyze the whole stream, not only candidate windows.")] = False,
    render: Annotated[bool, typer.Option(
        help="Render clips; --no-render only lists the moments.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Find the best moments of a recording and render them as vertical clips."""
    from clipforge.domain import Options
    from clipforge.services.checks import check_out_dir
    from clipforge.services.orchestrator import process as run_pipeline

    settings = get_settings()
    out_dir = out or Path("clipforge-out") / source_name(source)
    check_out_dir(out_dir, "--out")  # before any analysis: a render must have somewhere to go
    options = Options(
        out_dir=out_dir, chat=chat, top=top if top is not None else settings.top,
        layout=layout or "", caption_style=caption_style or "",  # empty: the streamer's
        aspect=aspect or "", language=language or "",
        min_len=min_len if min_len is not None else settings.min_len,
        max_len=max_len if max_len is not None else settings.max_len, captions=captions,
        streamer=streamer, full_transcript=full_transcript, render=render,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    with _bars(quiet or as_json) as bars:
        report = run_pipeline(source, options, settings, RichProgress(bars))
    if as_json:
        sys.stdout.write(json.dumps(report, indent=1) + "\n")
    elif not quiet:
        print_summary(report, out_dir)


@app.command("feedback")
def feedback_command(
    verdict: Annotated[str, typer.Argument(help="approve or reject")],
    clip_ids: Annotated[list[str], typer.Argument(help="Clip ids from report.json.")],
) -> None:
    """Approve or reject clips; the streamer's re-ranker learns from them."""
    from clipforge.services.orchestrator import Orchestrator
    from clipforge.storage.repository import Repository

    if verdict not in ("approve", "reject"):
        raise errors.BadOption(f"{verdict}: say approve or reject")
    settings = get_settings()
    orchestrator = Orchestrator(Repository(settings.database_url), settings)
    for clip_id in clip_ids:
        result = orchestrator.review(clip_id, approved=verdict == "approve")
        ranker = "re-ranker active" if result.ranker_active else "default ranking"
        stdout.print(f"{result.clip_id}: {result.status} ({result.streamer}: "
                     f"{result.labels} labels, {ranker})")
    if verdict == "approve":
        _publish_queued(settings, clip_ids)


def _print_publications(rows: list[Any]) -> None:
    for row in rows:
        where = row.url if row.status == "published" else row.error
        stdout.print(f"{row.clip_id} {row.platform}: {row.status} {where or ''}",
                     markup=False, highlight=False, soft_wrap=True)


def _publish_queued(settings: Any, clip_ids: list[str]) -> None:
    """Run what the streamers' auto-publish queued with the approvals, here and now."""
    from clipforge.services.orchestrator import publish_now
    from clipforge.services.queries import queued_publications

    queued = queued_publications(settings, clip_ids)
    if queued:
        _print_publications(publish_now(queued, settings))

@app.command()
def publish(
    clip_ids: Annotated[list[str], typer.Argument(help="Approved clip ids.")],
    to: Annotated[str | None, typer.Option(
        "--to", help="Platforms, comma-separated: youtube,x,tiktok,instagram [default: "
                     "run what approval queued]")] = None,
    at: Annotated[str | None, typer.Option(
        help="Schedule the YouTube video public at this ISO 8601 time (UTC if no zone); "
             "X, TikTok and Instagram post at once (their APIs do not schedule).")] = None,
) -> None:
    """Publish approved clips to YouTube Shorts, X, TikTok and Instagram Reels (exactly
    once; run it again after an interruption to resume the same uploads)."""
    from clipforge.services.orchestrator import publish_now

    platforms = [p for p in to.split(",")] if to else None
    rows = publish_now(clip_ids, get_settings(), platforms, at)
    failed = [r for r in rows if r.status != "published"]
    _print_publications(rows)
    if failed:
        raise typer.Exit(errors.PublishFailed.exit_code)


@app.command("export")
def export_command(
    stream: Annotated[str, typer.Argument(
        help="The stream: its id, or the file or URL it was processed from.")],
    format: Annotated[str, typer.Option(
        "--format", "-f", help="otio, fcpxml (Final Cut Pro, DaVinci Resolve), edl (CMX "
        "3600, Premiere), srt, vtt (the burned-in captions on the timeline) or zip (the "
        "rendered clips with their captions and report.json)")] = "otio",
    out: Annotated[Path | None, typer.Option(
        help="File (or folder) to write [default: the stream's name and the format's "
             "suffix, here]")] = None,
) -> None:
    """Export a stream's clips (not rejected) for an editor: a timeline referencing the
    recording, the captions, or the rendered clips."""
    from clipforge.services.export import export_stream

    written = export_stream(get_settings(), stream, format, out)
    stdout.print(str(written), markup=False, highlight=False, soft_wrap=True)
