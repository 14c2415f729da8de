"""Processes a test starts. Each gets a process group of its own (so a Ctrl-C of pytest,
or an "ignore SIGINT" inherited from a background shell, does not reach it by accident)
and is killed with its whole group when its test ends, passed or failed; `kill_leftovers`
(conftest, at the end of the session) kills any group a test left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any

_STARTED: list[subprocess.Popen[Any]] = []


def spawn(args: list[str], **popen: Any) -> subprocess.Popen[Any]:
    proc: subprocess.Popen[Any] = subprocess.Popen(args, start_new_session=True, **popen)
    _STARTED.append(proc)
    return proc


def kill_group(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the process's whole group (itself and what it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_group(proc: subprocess.Popen[Any], timeout: float = 20) -> int | None:
    """SIGTERM to the process, then (stopped or not) SIGKILL to whatever is left of its
    group: the process exits, and nothing it started outlives it."""
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    kill_group(proc)
    proc.wait()
    return proc.returncode


def kill_leftovers() -> None:
    """The groups of processes still running (one long gone may have had its id reused)."""
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            kill_group(proc)
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)


def run_in_group(args: list[str], timeout: float, **popen: Any
                 ) -> subprocess.CompletedProcess[str]:
    """subprocess.run(args, capture_output=True, text=True), in a group of its own that is
    killed whole on a timeout or any other failure (the command's own children too)."""
    proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc)  # what it left behind (or all of it, on a timeout)
        proc.wait()
        _STARTED.remove(proc)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)
