"""Kill `clipforge process` mid-way, run it again: it finishes, redoing only what was
unfinished, with the same clips as an uninterrupted run."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import cli_env, clipforge_cmd, process


def jobs(db: Path) -> list[tuple[str, str, str, int]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT key, stage, status, attempts FROM jobs").fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        return []


def test_killed_run_resumes_without_duplicates(stream_3min: Any, processed: Any,
                                               tmp_path: Path) -> None:
    _, uninterrupted, _ = processed
    out, data = tmp_path / "out", tmp_path / "data"
    db = data / "clipforge.db"
    args = ["process", str(stream_3min.video), "--chat", str(stream_3min.chat),
            "--out", str(out), "-q"]
    env = cli_env(data)
    env["CLIPFORGE_CHUNK_SECONDS"] = "60"
    victim = subprocess.Popen(clipforge_cmd(*args), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    # Kill once at least one clip is rendered and others are not: mid-way through work.
    while time.monotonic() < deadline and victim.poll() is None:
        rendered = [j for j in jobs(db) if j[1] == "render" and j[2] == "done"]
        if rendered:
            break
        time.sleep(0.1)
    assert victim.poll() is None, "the run ended before it could be interrupted"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    before = {key: (stage, status) for key, stage, status, _ in jobs(db)}
    assert not (out / "report.json").exists()

    proc = process(stream_3min.video, stream_3min.chat, out, data)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())

    after = jobs(db)
    unfinished = [job for job in after if job[2] != "done"]
    assert not unfinished, (unfinished, before)
    for key, _stage, _status, attempts in after:
        if before.get(key, ("", ""))[1] == "done":
            assert attempts == 1, f"{key} was done before the kill and ran again"
    assert len({key for key, *_ in after}) == len(after)
    assert len(report["clips"]) == len(uninterrupted["clips"])
    assert [(c["start"], c["end"]) for c in report["clips"]] == [
        (c["start"], c["end"]) for c in uninterrupted["clips"]]
    files = sorted(p.name for p in (out / "clips").iterdir())
    assert len([f for f in files if f.endswith(".mp4")]) == len(report["clips"])
    assert not [f for f in files if ".part" in f]
    with sqlite3.connect(db) as conn:
        (clips,) = conn.execute("SELECT COUNT(*) FROM clips").fetchone()
    assert clips == len(report["clips"])
