"""The `clipforge` app, its consoles, and `run`: every failure becomes one line on stderr
and the exit code the README gives it, never a traceback."""

from __future__ import annotations

import errno
import signal
import sys

import typer
from rich.console import Console

from clipforge import errors

app = typer.Typer(help="Turn long livestream VODs into ranked, captioned vertical clips.",
                  no_args_is_help=True, add_completion=False)
stdout = Console()
stderr = Console(stderr=True)


def error(message: str) -> None:
    stderr.print(f"clipforge: error: {message}", markup=False, highlight=False,
                 soft_wrap=True)


def run(argv: list[str] | None = None) -> int:
    """Run one command; every failure becomes one line on stderr and its exit code (see
    the README), never a traceback."""
    from typer import rich_utils
    from typer._click.exceptions import ClickException  # typer's own copy of click

    try:
        result = app(args=argv, standalone_mode=False)
    except errors.ClipForgeError as exc:
        error(exc.message)
        return exc.exit_code
    except ClickException as exc:  # a usage error: typer's help-style box
        rich_utils.rich_format_error(exc)
        return exc.exit_code
    except typer.Abort:  # end of input at a prompt
        error("aborted")
        return 1
    except KeyboardInterrupt:  # outside a command (typer turns one inside into 130)
        result = 130
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            no_space = errors.NoSpaceLeft(f"{exc.filename or 'the disk'}: no space left on "
                                          "device; free some space and run it again")
            error(no_space.message)
            return no_space.exit_code
        raise
    if result == 130:
        stderr.print("clipforge: interrupted; run the same command again to resume its work")
    return result if isinstance(result, int) else 0


def main() -> None:
    # An inherited "ignore SIGINT" (a shell's background job) would make Ctrl-C a no-op.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run())
