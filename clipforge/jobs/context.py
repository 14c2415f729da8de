"""What a job of one stream works with: its options, the probed source, the settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipforge.analysis import score
from clipforge.analysis.rerank import Reranker
from clipforge.config import Settings
from clipforge.domain import MediaInfo, Options
from clipforge.progress import NullProgress, Progress
from clipforge.storage.models import JobRow


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
    ranker: Reranker | None = None  # the streamer's learned preferences, if any
    progress: Progress = NullProgress()
    transcriber: Callable[[], object] | None = None  # the shared speech model, loaded once
    # The state database, for a step that records progress as it goes (publish: what a
    # crash must not lose is committed before the next request to the platform).
    repo: Any = None

    @property
    def seconds(self) -> int:
        """Length of the per-second feature arrays."""
        return int(np.ceil(self.info.duration))

    @property
    def weights(self) -> dict[str, float]:
        return self.options.weights if self.options.weights is not None else \
            score.DEFAULT_WEIGHTS

    def artifact(self, job: JobRow, suffix: str) -> Path:
        """Where a job writes its result: named by stage, target and parameters, so work
        done with other settings is never mistaken for this job's."""
        return self.work / f"{job.stage}-{job.target}-{job.key[-10:]}{suffix}"


class ModelCache:
    """Load the speech model once per process, on first use, whatever thread asks."""

    def __init__(self, load: Callable[[], object]) -> None:
        self._load = load
        self._model: object | None = None
        self._lock = threading.Lock()

    def __call__(self) -> object:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model
