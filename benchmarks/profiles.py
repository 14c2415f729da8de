"""Where each stage's time goes: CPU seconds and a cProfile per job, summed per stage.

The pool runs one job at a time while it is profiled (one worker), so the process's CPU
seconds during a job (all its threads: the decoders', whisper's, OpenCV's) and those of
the children it reaped (ffmpeg) are that job's alone. The profiler's clock is the
process's CPU time, so a Python function that waits on a native decoder's threads is
charged with the CPU they burn, and the figures mean the same on a loaded machine; time
spent in ffmpeg child processes is in `children_cpu_seconds`, not in the functions.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipforge.execution.pool import JobHooks
from clipforge.jobs.context import Run
from clipforge.storage.models import JobRow

TOP = 8


def cpu_seconds() -> tuple[float, float]:
    """(this process, its reaped children): user + system CPU seconds so far."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


@dataclass
class StageCost:
    jobs: int = 0
    cpu: float = 0.0
    children_cpu: float = 0.0
    stats: pstats.Stats | None = None


@dataclass
class StageProfiler(JobHooks):
    """JobHooks that profile each job (the pool must run one job at a time)."""

    stages: dict[str, StageCost] = field(default_factory=lambda: defaultdict(StageCost))
    _profile: cProfile.Profile | None = None
    _began: tuple[float, float] = (0.0, 0.0)

    def before(self, run: Run, job: JobRow) -> None:
        self._began = cpu_seconds()
        self._profile = cProfile.Profile(time.process_time)
        self._profile.enable()

    def committed(self, job: JobRow, outcome: str) -> None:
        if self._profile is None:  # failed before it began
            return
        self._profile.disable()
        own, children = cpu_seconds()
        cost = self.stages[job.stage]
        cost.jobs += 1
        cost.cpu += own - self._began[0]
        cost.children_cpu += children - self._began[1]
        if cost.stats is None:
            cost.stats = pstats.Stats(self._profile)
        else:
            cost.stats.add(self._profile)
        self._profile = None

    def report(self) -> dict[str, Any]:
        return {stage: _summary(cost) for stage, cost in self.stages.items()}


def _summary(cost: StageCost) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobs": cost.jobs,
        "cpu_seconds": round(cost.cpu + cost.children_cpu, 1),
        "children_cpu_seconds": round(cost.children_cpu, 1),
    }
    if cost.stats is not None:
        rows = cost.stats.stats  # type: ignore[attr-defined]
        # (calls, primitive calls, self seconds, cumulative seconds, callers) per function
        out["top_cumulative"] = _top(rows, 3)
        out["top_self"] = _top(rows, 2)
    return out


def _top(rows: dict[tuple[str, int, str], tuple[Any, ...]], column: int) -> list[str]:
    """The TOP functions by the column, as 'seconds  calls  where', most first."""
    ranked = sorted(rows.items(), key=lambda kv: kv[1][column], reverse=True)
    skipped = ("profiles.py", "pool.py", "threading.py")
    lines = []
    for (file, line, name), figures in ranked:
        if file.endswith(skipped) and column == 3:
            continue  # the hooks and the pool around every job
        lines.append(f"{figures[column]:7.2f} s {figures[0]:>8} x {_where(file, line, name)}")
        if len(lines) == TOP:
            break
    return lines


def _where(file: str, line: int, name: str) -> str:
    if file == "~":
        return name  # a built-in: {method 'decode' of ...}
    parts = Path(file).parts
    for anchor in ("site-packages", "clipforge", "benchmarks", "tools"):
        if anchor in parts:
            at = parts.index(anchor)
            file = "/".join(parts[at + (anchor == "site-packages"):])
            break
    return f"{file}:{line}({name})"
