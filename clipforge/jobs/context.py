"""What a job of one stream works with: its options, the probed source, the settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from clipforge.analysis import score
from clipforge.analysis.rerank import Reranker
from clipforge.config import Settings
from clipforge.domain import MediaInfo, Options
from clipforge.progress import NullProgress, Progress
from clipforge.storage.repository import Repository


@dataclass
class Run:
    """One stream's run, as every job of it sees it."""

    stream_id: int
    stream_key: str
    info: MediaInfo
    options: Options
    settings: Settings
    work: Path  # the stream's artifacts
    source: str = ""  # the stream's file (absolute path) or URL
    streamer_lag: float | None = None
    language: str = ""  # the stream's spoken language (the default until detected)
    ranker: Reranker | None = None  # the streamer's learned preferences, if any
    progress: Progress = NullProgress()
    # The shared speech models by name, each loaded once.
    transcriber: Callable[[str], object] | None = None
    # The state database, for a step that records progress as it goes (publish: what a
    # crash must not lose is committed before the next request to the platform).
    repo: Repository | None = None
    job: JobRef | None = None  # the job being run (set by the pool for each step)

    @property
    def seconds(self) -> int:
        """Length of the per-second feature arrays."""
        return int(np.ceil(self.info.duration))

    @property
    def weights(self) -> dict[str, float]:
        return self.options.weights if self.options.weights is not None else \
            score.DEFAULT_WEIGHTS

    def artifact(self, suffix: str) -> Path:
        """Where the running job writes its result: named by stage, target and input, so
        work done with other settings is never mistaken for this job's."""
        assert self.job is not None, "the pool names the job a step runs for"
        job = self.job
        return self.work / f"{job.stage}-{job.target}-{job.key[-10:]}{suffix}"

    def for_job(self, stage: str, target: str, key: str) -> Run:
        return replace(self, job=JobRef(stage, target, key))


@dataclass(frozen=True)
class JobRef:
    """Which job a step runs for: what its result file is named after."""

    stage: str
    target: str
    key: str


class ModelCache:
    """Load each speech model once per process, on first use, whatever thread asks."""

    def __init__(self, load: Callable[[str], object]) -> None:
        self._load = load
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> object:
        with self._lock:
            if name not in self._models:
                self._models[name] = self._load(name)
            return self._models[name]
