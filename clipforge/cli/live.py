"""`clipforge live SOURCE`: clips while the stream is still on."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from clipforge.cli.app import app, stderr
from clipforge.cli.process import print_summary, source_name
from clipforge.config import get_settings


@app.command()
def live(
    source: Annotated[str, typer.Argument(
        help="A live stream: a Twitch, YouTube or Kick live URL, or an HLS playlist "
             "(.m3u8) over HTTP(S).")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: ./clipforge-out/NAME); run again with the "
             "same folder to resume after a crash.")] = None,
    chat: Annotated[str | None, typer.Option(
        help="Live chat: twitch:CHANNEL or youtube (read as it comes; youtube needs "
             "CLIPFORGE_YOUTUBE_API_KEY), or a chat file.")] = None,
    streamer: Annotated[str, typer.Option(
        help="Whose stream: their preferences apply.")] = "default",
    until: Annotated[float | None, typer.Option(
        help="Stop after this many seconds of stream.")] = None,
    min_len: Annotated[float | None, typer.Option(help="Shortest clip, seconds.")] = None,
    max_len: Annotated[float | None, typer.Option(help="Longest clip, seconds.")] = None,
    layout: Annotated[str | None, typer.Option(
        help="auto, crop, blur or stacked (default: the streamer's, else auto)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notices.")] = False,
) -> None:
    """Follow a live stream and render its highlights as they happen; at its end (or
    --until), write report.json like `clipforge process`."""
    from clipforge.services.live import follow_live

    settings = get_settings()
    out_dir = out or Path("clipforge-out") / source_name(source)

    def notice(text: str) -> None:
        if not quiet:
            stderr.print(text, markup=False, highlight=False, soft_wrap=True)

    report = follow_live(source, out_dir, settings, chat=chat, streamer=streamer,
                         until=until, min_len=min_len, max_len=max_len, layout=layout,
                         on_notice=notice)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=1) + "\n")
    elif not quiet:
        print_summary(report, out_dir)
