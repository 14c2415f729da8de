"""Run each stage on each target at most once to completion.

A job is identified by an idempotency key. It is skipped when the ledger says it is done
and its artifact is still on disk; otherwise it runs, writes its artifact to a temp name
and renames it, and only then is marked done. A crash leaves the job `running`; the next
run starts it again, so nothing is lost and nothing is duplicated.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clipforge import errors
from clipforge.storage.repository import Repository


def params_hash(params: object) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]


class Ledger:
    def __init__(self, repo: Repository, stream_id: int, stream_key: str) -> None:
        self.repo = repo
        self.stream_id = stream_id
        self.stream_key = stream_key
        self.used: dict[str, str] = {}  # job key -> stage, for this run's timings
        self.ran: set[str] = set()  # stages that did work in this run (not all skipped)

    def key(self, stage: str, target: str, params: object = None) -> str:
        suffix = f":{params_hash(params)}" if params is not None else ""
        return f"{self.stream_key}:{stage}:{target}{suffix}"

    def is_done(self, key: str, artifact: Path) -> bool:
        return self.repo.finished(key) is not None and artifact.exists()

    def run(self, stage: str, target: str, artifact: Path, produce: Callable[[], Any],
            params: object = None) -> bool:
        """Run `produce` unless already done; True when it ran."""
        key = self.key(stage, target, params)
        self.used[key] = stage
        if self.is_done(key, artifact):
            return False
        self.ran.add(stage)
        self.repo.start_job(key, self.stream_id, stage, target)
        began = time.perf_counter()
        try:
            produce()
        except errors.ClipForgeError as exc:
            self.repo.fail_job(key, exc.message)
            raise
        except Exception as exc:
            self.repo.fail_job(key, f"{type(exc).__name__}: {exc}")
            raise
        self.repo.finish_job(key, time.perf_counter() - began, str(artifact))
        return True

    def skipped(self, stage: str) -> bool:
        """True when every job of the stage in this run had been done by an earlier run."""
        return stage not in self.ran

    def timings(self) -> dict[str, float]:
        """Seconds spent per stage on the jobs of this run (including earlier runs' work)."""
        totals: dict[str, float] = {}
        for job in self.repo.jobs(self.stream_id):
            if job.key in self.used and job.status == "done":
                totals[job.stage] = round(totals.get(job.stage, 0.0) + job.seconds, 3)
        return totals


def write_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def read_json(path: Path) -> object:
    return json.loads(path.read_text())
