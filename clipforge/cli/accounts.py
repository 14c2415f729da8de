"""Streamers and the platform accounts their clips are published to."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clipforge.cli.app import app, stderr, stdout
from clipforge.config import get_settings

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

account_app = typer.Typer(help="Platform accounts to publish to.", no_args_is_help=True)
app.add_typer(account_app, name="account")


@account_app.command("connect")
def account_connect(
    platform: Annotated[str, typer.Argument(help="youtube, x, tiktok or instagram")],
    streamer: Annotated[str, typer.Option(help="Whose account it is.")] = "default",
    port: Annotated[int, typer.Option(
        help="Loopback port for the redirect (register http://127.0.0.1:PORT/callback "
             "with the platform); 0: any free port.")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sign-in.")] = 600,
    workspace: Annotated[str, typer.Option(help="The streamer's workspace.")] = "default",
) -> None:
    """Connect a YouTube channel, an X, TikTok or Instagram account: open the printed
    address, sign in and allow access; the redirect comes back to this command on a
    loopback port."""
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
