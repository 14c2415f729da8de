"""The command line: `clipforge process SOURCE` and friends."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich import box
from rich.console import Console
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

from clipforge import __version__, errors
from clipforge.config import get_settings

app = typer.Typer(help="Turn long livestream VODs into ranked, captioned vertical clips.",
                  no_args_is_help=True, add_completion=False)
stdout = Console()
stderr = Console(stderr=True)


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


def _summary(report: dict[str, Any], out: Path) -> None:
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


def _source_name(source: str) -> str:
    """A folder name for a source: the file's stem; for a URL, its last path part and
    query (`watch?v=ID` -> `watch_v_ID`)."""
    if "://" not in source:
        return Path(source).stem
    parts = urlsplit(source)
    name = "_".join(p for p in (Path(parts.path).stem, parts.query) if p)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or parts.hostname or "url"


def _error(message: str) -> None:
    stderr.print(f"clipforge: error: {message}", markup=False, highlight=False,
                 soft_wrap=True)


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
    out_dir = out or Path("clipforge-out") / _source_name(source)
    check_out_dir(out_dir, "--out")  # before any analysis: a render must have somewhere to go
    options = Options(
        out_dir=out_dir, chat=chat, top=top if top is not None else settings.top,
        layout=layout or "", caption_style=caption_style or "",  # empty: the streamer's
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
        _summary(report, out_dir)


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
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[bool, typer.Option(
        help="Run jobs in this process (embedded); --no-workers serves the API only.")] = True,
) -> None:
    """Run the API (and its worker pool): upgrades the database first."""
    import uvicorn

    from clipforge.api.app import create_app

    # Our own handlers, whatever was inherited (a background shell ignores SIGINT): a stop
    # before the server runs exits at once; while it runs, uvicorn takes both signals
    # over, shuts down gracefully (the pool hands its jobs back), then raises the signal
    # again with these handlers back in place: exit 0, a stop asked for.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_quietly)
    app_ = create_app(get_settings(), workers=workers)
    uvicorn.run(app_, host=host, port=port, log_level="info")


def _stop_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


streamer_app = typer.Typer(help="Streamers: reference faces and defaults.",
                           no_args_is_help=True)
app.add_typer(streamer_app, name="streamer")


@streamer_app.command("add")
def streamer_add(
    name: Annotated[str, typer.Argument(help="The streamer (as in --streamer).")],
    face: Annotated[list[Path] | None, typer.Option(
        help="A photo of the streamer's face (JPEG/PNG); repeat for more.")] = None,
    layout: Annotated[str | None, typer.Option(
        help="Default layout of their streams: auto, crop, blur or stacked.")] = None,
    caption_style: Annotated[str | None, typer.Option(
        help="Default caption preset: classic, bold, clean or oneword.")] = None,
    facecam: Annotated[str | None, typer.Option(
        help="Their fixed facecam as x,y,w,h fractions of the frame (skips detection).")
    ] = None,
    workspace: Annotated[str, typer.Option(help="The streamer's workspace.")] = "default",
) -> None:
    """Add a streamer (or update one): reference faces the camera follows, and defaults
    for their new streams."""
    from clipforge.services.queries import save_streamer

    saved = save_streamer(get_settings(), name, {"layout": layout, "caption_style":
                                                 caption_style, "facecam": facecam},
                          face or [], workspace)
    stdout.print(f"streamer {name}: {saved.faces} reference face(s), settings "
                 f"{saved.settings}")


@app.command()
def worker(
    stage: Annotated[str, typer.Option(
        help="The worker kind: ingest, asr, vision, scoring, render or publisher.")],
    threads: Annotated[int, typer.Option(help="Jobs run at once in this process.")] = 1,
    host: Annotated[str, typer.Option(help="Address of its HTTP app.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        help="Port of its HTTP app [default: the kind's: ingest 8001, asr 8002, vision "
             "8003, scoring 8004, render 8005, publisher 8006]")] = None,
) -> None:
    """Run a stage worker (distributed mode): jobs from its Redis queue, and GET /health,
    GET /metrics, POST /jobs/{id}/run on its port."""
    import uvicorn

    from clipforge.api.worker_app import create_worker_app
    from clipforge.execution.broker import ports
    from clipforge.execution.cluster import check_distributed
    from clipforge.execution.worker import StageWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    _check_worker_host(host, settings.worker_token)
    check_distributed(settings)
    stage_worker = StageWorker(settings, stage, threads)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (the app's lifespan stops the
    # worker: jobs finish or go back), then raises the signal again: exit 0 on it.
    # At once, without the interpreter's teardown: a job handed back may still be in
    # native code (dlib, OpenCV) on its thread, which aborts a normal exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: _exit_now(0))
    uvicorn.run(create_worker_app(stage_worker, settings.worker_token), host=host,
                port=port or ports()[stage], log_level="warning")


def _check_worker_host(host: str, token: str) -> None:
    """Off this machine, a worker's endpoints (run a job, metrics) need a token."""
    if host in ("127.0.0.1", "localhost", "::1") or len(token) >= 16:
        return
    raise errors.BadOption(
        f"--host {host}: a worker listening beyond this machine needs "
        "CLIPFORGE_WORKER_TOKEN (16 characters or more), which its /metrics and "
        "/jobs/{id}/run then require; or keep --host 127.0.0.1")


def _exit_now(code: int) -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address of the API and the workers.")] =
        "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and web UI.")] = 8000,
    threads: Annotated[int, typer.Option(help="Jobs at once per worker.")] = 1,
    per_stage: Annotated[int, typer.Option(help="Workers of each kind.")] = 1,
    worker_ports: Annotated[int | None, typer.Option(
        help="First port of the workers' apps, one per kind in pipeline order (+100 for "
             "each further worker of a kind) [default: 8001-8006 by kind]")] = None,
) -> None:
    """Run the API and one worker of each stage on this machine (distributed mode, with
    the configured PostgreSQL, Redis and storage); Ctrl-C stops them all."""
    from clipforge.execution.cluster import Cluster, check_distributed

    settings = get_settings()
    check_distributed(settings)
    code = Cluster(host, port, threads, per_stage, worker_ports).run(
        settings.worker_grace_seconds)
    raise typer.Exit(code)


db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
user_app = typer.Typer(help="Users of the API and web UI.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces: who sees which streams, streamers and "
                            "accounts.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from clipforge.services.queries import migrate

    stdout.print(f"database at {migrate(get_settings(), revision)}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Migrate the database back to REVISION (`base` empties it)."""
    from clipforge.services.queries import migrate

    stdout.print(f"database at {migrate(get_settings(), revision, down=True)}")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[str | None, typer.Option(
        help="For the web UI login; omit for token-only use.")] = None,
    token: Annotated[bool, typer.Option(help="Also make and print an API token.")] = True,
    workspace: Annotated[str, typer.Option(help="The workspace the user joins.")] = "default",
    role: Annotated[str | None, typer.Option(
        help="owner, editor or viewer [default: owner for a workspace's first member, "
             "else editor]")] = None,
) -> None:
    """Create a user in a workspace (and print an API token for it)."""
    from clipforge.services.queries import create_user

    role, secret = create_user(get_settings(), name, password, token, workspace, role)
    stderr.print(f"user {name} created: {role} of workspace {workspace}")
    if secret:
        sys.stdout.write(secret + "\n")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="Whose token.")],
    label: Annotated[str, typer.Option(help="What it is for.")] = "cli",
) -> None:
    """Make an API token for USER and print it (it is shown only this once)."""
    from clipforge.services.queries import create_token

    secret = create_token(get_settings(), user, label)
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list(workspace: Annotated[str | None, typer.Option(
        help="Only the tokens of this workspace's members.")] = None) -> None:
    """Every API token: id, user, label, when it was made, last used and expires, and
    whether it is revoked (never the token: only its digest is kept)."""
    from clipforge.services.queries import list_tokens

    for row in list_tokens(get_settings(), workspace):
        state = "revoked" if row.revoked else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        expires = f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "never"
        sys.stdout.write(f"{row.id}\t{row.user}\t{row.label}\t{state}\tmade "
                         f"{row.created_at:%Y-%m-%d}\tlast used {used}\texpires "
                         f"{expires}\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="From `token list`.")],
                 workspace: Annotated[str | None, typer.Option(
                     help="Only a token of this workspace's members.")] = None) -> None:
    """Revoke an API token: it stops working at once."""
    from clipforge.services.queries import revoke_token

    revoke_token(get_settings(), token_id, workspace)
    stderr.print(f"token {token_id} revoked")


@workspace_app.command("create")
def workspace_create(name: Annotated[str, typer.Argument(help="Letters, digits, - or _.")]
                     ) -> None:
    """Create a workspace; add its people with `clipforge user create NAME --workspace`."""
    from clipforge.services.queries import create_workspace

    create_workspace(get_settings(), name)
    stderr.print(f"workspace {name} created")


@user_app.command("password")
def user_password(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          help="The new password.")],
) -> None:
    """Set a user's password; it ends every web UI session of the user."""
    from clipforge.services.queries import set_password

    set_password(get_settings(), name, password)
    stderr.print(f"password of {name} changed; its web sessions are ended")


@app.command()
def publish(
    clip_ids: Annotated[list[str], typer.Argument(help="Approved clip ids.")],
    to: Annotated[str | None, typer.Option(
        "--to", help="Platforms, comma-separated: youtube,x [default: run what approval "
                     "queued]")] = None,
    at: Annotated[str | None, typer.Option(
        help="Schedule the YouTube video public at this ISO 8601 time (UTC if no zone); "
             "X posts at once.")] = None,
) -> None:
    """Publish approved clips to YouTube Shorts and X (exactly once; run it again after
    an interruption to resume the same uploads)."""
    from clipforge.services.orchestrator import publish_now

    platforms = [p for p in to.split(",")] if to else None
    rows = publish_now(clip_ids, get_settings(), platforms, at)
    failed = [r for r in rows if r.status != "published"]
    _print_publications(rows)
    if failed:
        raise typer.Exit(errors.PublishFailed.exit_code)


account_app = typer.Typer(help="Platform accounts to publish to.", no_args_is_help=True)
app.add_typer(account_app, name="account")


@account_app.command("connect")
def account_connect(
    platform: Annotated[str, typer.Argument(help="youtube or x")],
    streamer: Annotated[str, typer.Option(help="Whose account it is.")] = "default",
    port: Annotated[int, typer.Option(
        help="Loopback port for the redirect (register http://127.0.0.1:PORT/callback "
             "with the platform); 0: any free port.")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sign-in.")] = 600,
    workspace: Annotated[str, typer.Option(help="The streamer's workspace.")] = "default",
) -> None:
    """Connect a YouTube channel or an X account: open the printed address, sign in and
    allow access; the redirect comes back to this command on a loopback port."""
    from clipforge.services import accounts
    from clipforge.services.loopback import authorize_on_loopback
    from clipforge.services.queries import workspace_id
    from clipforge.storage.repository import Repository

    settings = get_settings()
    place = workspace_id(settings, workspace)
    code, redirect_uri, verifier = authorize_on_loopback(
        settings, platform, port, timeout, _show_address)
    done = accounts.connect(Repository(settings.database_url), settings, platform,
                            streamer, code, redirect_uri, verifier, place)
    stdout.print(f"connected {platform} account {done.name} for streamer {done.streamer}",
                 markup=False, highlight=False)


def _show_address(url: str) -> None:
    stderr.print("Open this address to connect the account:")
    sys.stdout.write(url + "\n")  # alone on stdout, so a script can take it
    sys.stdout.flush()


@account_app.command("list")
def account_list() -> None:
    """The connected accounts (never their tokens)."""
    from clipforge.services.queries import list_accounts

    for row in list_accounts(get_settings()):
        stdout.print(f"{row.id} {row.platform} {row.name} streamer={row.streamer} "
                     f"{row.status} {row.error or ''}", markup=False, highlight=False)


@app.command()
def version() -> None:
    """Print the version."""
    stdout.print(__version__)


def run(argv: list[str] | None = None) -> int:
    """Run one command; every failure becomes one line on stderr and its exit code (see
    the README), never a traceback."""
    from typer import rich_utils
    from typer._click.exceptions import ClickException  # typer's own copy of click

    try:
        result = app(args=argv, standalone_mode=False)
    except errors.ClipForgeError as exc:
        _error(exc.message)
        return exc.exit_code
    except ClickException as exc:  # a usage error: typer's help-style box
        rich_utils.rich_format_error(exc)
        return exc.exit_code
    except typer.Abort:  # end of input at a prompt
        _error("aborted")
        return 1
    except KeyboardInterrupt:  # outside a command (typer turns one inside into 130)
        result = 130
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            no_space = errors.NoSpaceLeft(f"{exc.filename or 'the disk'}: no space left on "
                                          "device; free some space and run it again")
            _error(no_space.message)
            return no_space.exit_code
        raise
    if result == 130:
        stderr.print("clipforge: interrupted; run the same command again to resume its work")
    return result if isinstance(result, int) else 0


def main() -> None:
    # An inherited "ignore SIGINT" (a shell's background job) would make Ctrl-C a no-op.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run())


if __name__ == "__main__":
    main()
