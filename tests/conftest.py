"""Shared fixtures: generated streams (cached across runs) and a CLI runner."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.procs import kill_leftovers, run_in_group
from tools import synth

ROOT = Path(__file__).resolve().parent.parent

CACHE = ROOT / ".cache" / "tests"

# The longest files first, by the --durations of whole runs. Two workers take files in
# collection order, so a long file collected last runs alone at the end while the other
# worker idles; started first, the short files fill in beside it. test_pipeline makes the
# shared `processed` run early, so test_resume (which needs it) does not wait for it.
LONGEST_FIRST = ("test_api.py", "test_pipeline.py", "test_distributed.py",
                 "test_editor_batch.py", "test_editor_formats.py", "test_live.py",
                 "test_api_contract.py", "test_ingest.py", "test_live_web.py", "test_web.py",
                 "test_flow.py", "test_resume.py", "test_concurrent_uploads.py",
                 "test_editor.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a file's own tests keep their order


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_session() -> Iterator[None]:
    yield
    kill_leftovers()


@pytest.fixture(scope="session")
def stream_3min() -> synth.StreamSpec:
    """A generated 3-minute 1280x720 30 fps stream with a face, speech and chat."""
    return synth.cached_stream(CACHE / "streams", duration=180.0, seed=3)


@pytest.fixture(scope="session")
def stream_90s() -> synth.StreamSpec:
    """A generated 90-second 1280x720 30 fps stream with a face, speech and chat."""
    return synth.cached_stream(CACHE / "streams", duration=90.0, seed=3)


@pytest.fixture(scope="session")
def stream_small() -> synth.StreamSpec:
    """A generated 90-second 640x360 15 fps stream with a face, speech, two highlights and
    chat: for tests of the flow around the stages, which need clips but not many pixels.
    With SHORT_CLIPS its clips are a few seconds long, so they render quickly."""
    return synth.cached_stream(CACHE / "streams", duration=90.0, width=640, height=360,
                               fps=15, seed=3)


# Clip lengths for stream_small: as Settings fields, CLI options and Options fields.
SHORT_CLIPS = {"min_len": 6.0, "max_len": 12.0}
SHORT_CLIP_ARGS = ("--min-len", "6", "--max-len", "12")


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return synth.make_bad_inputs(tmp_path_factory.mktemp("bad"))


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def cli_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CLIPFORGE_DATA_DIR"] = str(data_dir)
    env.pop("CLIPFORGE_DATABASE_URL", None)
    env.pop("CLIPFORGE_STORAGE_URL", None)
    return env


def clipforge_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "clipforge.cli", *args]


@pytest.fixture
def run_cli(tmp_path: Path) -> CliRunner:
    """Run `clipforge ARGS` in a subprocess with its own data dir, like a user would."""

    def run(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = cli_env(data_dir or tmp_path / "data")
        return run_in_group(clipforge_cmd(*args), timeout=900, env=env, cwd=tmp_path)

    return run


def process(video: Path, chat: Path | None, out: Path, data: Path,
            *extra: str, chunk_seconds: str = "60") -> subprocess.CompletedProcess[str]:
    args = ["process", str(video), "--out", str(out), "-q", *extra]
    if chat is not None:
        args += ["--chat", str(chat)]
    env = cli_env(data)
    env["CLIPFORGE_CHUNK_SECONDS"] = chunk_seconds  # several chunks, in parallel
    return run_in_group(clipforge_cmd(*args), timeout=1200, env=env)


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder this test run's pytest-xdist workers share (the run's own folder without
    xdist)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def processed(stream_3min: Any, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Path, dict[str, Any], Path]:
    """The 3-minute stream processed once per test run, whichever worker asks first (the
    others wait on the lock and read it)."""
    root = shared_folder(tmp_path_factory, "processed")
    out, data = root / "out", root / "data"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "report.json").is_file():
            proc = process(stream_3min.video, stream_3min.chat, out, data)
            assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "report.json").read_text()), data
