"""The command line: `clipforge process SOURCE` and friends, a module per group of
commands, each registering its commands on the one `app`."""

from clipforge.cli import process, live, servers, accounts, admin  # noqa: I001 (the help's order)
from clipforge.cli.app import app, main, run

__all__ = ["accounts", "admin", "app", "live", "main", "process", "run", "servers"]
