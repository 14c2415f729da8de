"""`clipforge up`: the orchestrator (API and web UI) and workers of every stage on this
machine, against the configured PostgreSQL, Redis and store: a one-machine distributed
deployment. Ctrl-C (or SIGTERM) stops them all cleanly: each worker finishes or hands
back its job. A worker that dies is started again."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

import httpx

from clipforge import errors
from clipforge.config import Settings
from clipforge.execution.broker import kinds, ports

log = logging.getLogger("clipforge.up")


def check_distributed(settings: Settings) -> None:
    """Distributed mode needs Redis and a database that many processes can share."""
    if not settings.redis_url:
        raise errors.BadOption("distributed mode needs CLIPFORGE_REDIS_URL "
                               "(redis://host:6379/0)")
    if settings.database_url.startswith("sqlite"):
        raise errors.BadOption("distributed mode needs PostgreSQL: set CLIPFORGE_DATABASE_URL "
                               "(postgresql+psycopg://user@host/db)")


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "clipforge.cli", *self.args])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    host: str
    port: int
    threads: int = 1
    per_stage: int = 1
    worker_ports: int | None = None  # first port of the workers' apps; None: the registry's
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def plan(self) -> list[Child]:
        plan = [Child("api", ["serve", "--host", self.host, "--port", str(self.port)])]
        for i, kind in enumerate(kinds()):
            first = ports()[kind] if self.worker_ports is None else self.worker_ports + i
            for n in range(self.per_stage):
                port = first + 100 * n  # a second asr worker: 8102, ...
                plan.append(Child(f"{kind}-{n + 1}", [
                    "worker", "--stage", kind, "--threads", str(self.threads),
                    "--host", self.host, "--port", str(port)]))
        return plan

    def run(self, grace: float) -> int:
        self.children = self.plan()
        # Our own handlers for both: a shell's background job inherits "ignore SIGINT",
        # which would make Ctrl-C a no-op. (Handlers, unlike an ignore, are not passed on
        # to the children, which install their own.)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        try:
            api = self.children[0]
            api.start()  # first: it migrates the database the workers use
            self._wait_healthy(api)
            for child in self.children[1:]:
                if not self.stopping:
                    child.start()
            if not self.stopping:
                print(f"clipforge up: API on http://{self.host}:{self.port}, workers: "
                      f"{', '.join(c.name for c in self.children[1:])}; Ctrl-C stops",
                      file=sys.stderr)
            while not self.stopping:
                self._restart_dead()
                time.sleep(0.2)
        finally:
            self.stop(grace)
        return 0

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def _wait_healthy(self, api: Child) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self.stopping:
            if not api.alive():
                raise errors.StateError("the API did not start; see its messages above")
            try:
                if httpx.get(f"http://{self.host}:{self.port}/api/health",
                             timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        if not self.stopping:
            raise errors.StateError("the API did not answer on /api/health within 120 s")

    def _restart_dead(self) -> None:
        for child in self.children:
            if not child.alive() and not self.stopping:
                assert child.proc is not None
                print(f"clipforge up: {child.name} exited ({child.proc.returncode}); "
                      "starting it again", file=sys.stderr)
                child.start()

    def stop(self, grace: float) -> None:
        """Workers first (they finish or hand back their jobs), then the API."""
        self.stopping = True
        for group in (self.children[1:], self.children[:1]):
            for child in group:
                if child.alive():
                    assert child.proc is not None
                    child.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace + 10
            for child in group:
                if child.proc is None:
                    continue
                try:
                    child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait()
