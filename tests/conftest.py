"""Shared fixtures: generated streams (cached across runs) and a CLI runner."""

from __future__ import annotations

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


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_session() -> Iterator[None]:
    yield
    kill_leftovers()


@pytest.fixture(scope="session")
def stream_3min() -> synth.StreamSpec:
    """A generated 3-minute 1280x720 30 fps stream with a face, speech and chat."""
    return synth.cached_stream(CACHE / "streams", duration=180.0, seed=3)


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


@pytest.fixture(scope="session")
def processed(stream_3min: Any, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Path, dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("run")
    out, data = root / "out", root / "data"
    proc = process(stream_3min.video, stream_3min.chat, out, data)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "report.json").read_text()), data


# The files that share the `processed` run: on one worker under `pytest -n`, so the
# 3-minute stream is processed once.
SHARES_PROCESSED = {"test_pipeline", "test_publish_web", "test_resume"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), a file's tests run on one worker, as its
    module-scoped servers and media are made once; files that share a session-scoped run
    go together."""
    for item in items:
        module = item.path.stem
        group = "processed" if module in SHARES_PROCESSED else module
        item.add_marker(pytest.mark.xdist_group(group))
