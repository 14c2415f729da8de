"""Distributed mode under load, as JSON: N short streams submitted at once to the API,
with one and then two worker processes per stage (PostgreSQL, a redis-server of our own,
moto's S3 server; everything on this machine).

For each setting: wall time from the first submit to the last completed stream,
throughput (streams per minute, source seconds per wall second), and per stage the jobs'
queue wait (queued -> started, seconds: mean, p50, p95, max) and run time. It also checks
that every stream completed with each job finished once.

    .venv/bin/python -m benchmarks.distributed [--streams 20] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.cluster import Cluster, redis_server, s3_server
from tests.servers import pg_database
from tools import synth

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = {"top": "1", "min_len": "3", "max_len": "6"}


def variants(base: Path, folder: Path, count: int) -> list[Path]:
    """Copies of one stream with different metadata: distinct streams, the same work."""
    paths = []
    for n in range(count):
        out = folder / f"stream-{n}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(base), "-c", "copy",
                        "-metadata", f"comment=bench {n}", str(out)], check=True)
        paths.append(out)
    return paths


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"mean": round(statistics.fmean(ordered), 3),
            "p50": round(ordered[len(ordered) // 2], 3),
            "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
            "max": round(ordered[-1], 3)}


def measure(per_stage: int, streams: list[Path], duration: float, root: Path) -> dict[str, Any]:
    with pg_database() as database_url, redis_server(root / "redis") as redis, \
            s3_server() as endpoint:
        cluster = Cluster(root / "cluster", database_url, redis.url, endpoint, **SETTINGS)
        try:
            cluster.start(per_stage=per_stage)
            api = cluster.api.client(cluster.api.cli("user", "create", "bench").strip())
            began = time.monotonic()
            ids = [submit(api, path) for path in streams]
            wait(api, ids)
            wall = time.monotonic() - began
            report = ledger_figures(database_url, ids)
        finally:
            cluster.stop()
    return {"workers_per_stage": per_stage, "streams": len(streams),
            "wall_seconds": round(wall, 1),
            "streams_per_minute": round(len(streams) / wall * 60, 2),
            "source_seconds_per_second": round(len(streams) * duration / wall, 2), **report}


def submit(api: httpx.Client, path: Path) -> int:
    created = api.post("/api/streams", json={"path": str(path)})
    created.raise_for_status()
    return int(created.json()["id"])


def wait(api: httpx.Client, ids: list[int]) -> None:
    pending = set(ids)
    while pending:
        for sid in list(pending):
            status = api.get(f"/api/streams/{sid}").json()["status"]
            if status != "processing":
                assert status == "done", f"stream {sid}: {status}"
                pending.discard(sid)
        time.sleep(0.5)


def ledger_figures(database_url: str, ids: list[int]) -> dict[str, Any]:
    engine = sa.create_engine(database_url)
    with engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT stage, status, attempts, seconds, "
            "EXTRACT(EPOCH FROM started_at - created_at) AS wait FROM jobs "
            "WHERE stream_id = ANY(:ids)"), {"ids": ids}).all()
        completions = c.execute(sa.text(
            "SELECT count(*) FROM events WHERE stream_id = ANY(:ids) AND name IN "
            "('chunk.transcribed', 'chunk.analyzed', 'clip.rendered')"), {"ids": ids}).scalar()
    engine.dispose()
    assert all(r.status == "done" for r in rows), "a job did not finish"
    chunk_jobs = sum(r.stage in ("transcribe", "analyze", "render") for r in rows)
    assert completions == chunk_jobs, "a job completed twice (or not at all)"
    stages: dict[str, Any] = {}
    for stage in dict.fromkeys(r.stage for r in rows):
        mine = [r for r in rows if r.stage == stage]
        stages[stage] = {"jobs": len(mine),
                         "queue_wait_seconds": summary([float(r.wait) for r in mine]),
                         "run_seconds_mean": round(statistics.fmean(r.seconds for r in mine),
                                                   3)}
    return {"jobs": len(rows), "jobs_run_again": sum(r.attempts > 1 for r in rows),
            "stages": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--duration", type=float, default=24.0, help="seconds per stream")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="workers per stage, one measurement each")
    args = parser.parse_args()
    base = synth.cached_stream(ROOT / ".cache" / "bench", duration=args.duration, width=640,
                               height=360, fps=15, seed=9)
    results = []
    with tempfile.TemporaryDirectory(prefix="clipforge-bench-") as tmp:
        streams = variants(base.video, Path(tmp), args.streams)
        for per_stage in args.workers:
            results.append(measure(per_stage, streams, args.duration,
                                   Path(tmp) / f"run-{per_stage}"))
    print(json.dumps({"stream_seconds": args.duration, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
