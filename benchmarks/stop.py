"""How long Ctrl-C takes to stop `clipforge serve` and `clipforge up` while they process a
stream, beside `stress-ng --cpu 2`, as JSON. The README promises a stop within 10 s.

Each round uploads a two-minute stream, waits until one of its stages is running, sends
SIGINT to the command alone and times until it has exited; then it checks that nothing it
started is left. `up` runs the distributed shape (PostgreSQL, a redis-server of our own).

    .venv/bin/python -m benchmarks.stop [--rounds 3] [--stress 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.cluster import redis_server
from tests.procs import kill_group, spawn
from tests.servers import Server, free_port, pg_database

SOURCE_SECONDS = 120


def make_source(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=s=640x360:r=30:d={SOURCE_SECONDS}",
                    "-f", "lavfi", "-i", f"sine=f=440:d={SOURCE_SECONDS}",
                    "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    str(path)], check=True, timeout=300)
    return path


@contextmanager
def stress(cpus: int) -> Iterator[None]:
    proc = spawn(["stress-ng", "--cpu", str(cpus), "--quiet"]) if cpus else None
    try:
        yield
    finally:
        if proc is not None:
            kill_group(proc)
            proc.wait()


def busy(server: Server, token: str, source: Path, deadline: float = 600) -> str:
    """Upload the source and wait until a stage of it runs; returns that stage."""
    with server.client(token) as api, source.open("rb") as video:
        sid = api.post("/api/streams/upload",
                       files={"file": (source.name, video, "video/mp4")}).json()["id"]
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            stages = api.get(f"/api/streams/{sid}").json()["stages"]
            running = [s["stage"] for s in stages if s["status"] == "running"]
            if running and running[0] != "ingest":
                return str(running[0])
            time.sleep(0.2)
    raise RuntimeError("no stage started within the deadline")


def stop_seconds(server: Server) -> tuple[float, int | None, bool]:
    """SIGINT to the command; seconds until it exited, its exit code, and whether
    anything it started outlived it by more than 3 s (a child killed by its parent-death
    signal takes a moment to go)."""
    assert server.proc is not None
    began = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    try:
        code: int | None = server.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - began
    left, until = True, time.monotonic() + 3
    while left and time.monotonic() < until:
        try:
            os.killpg(server.proc.pid, 0)
            time.sleep(0.1)
        except ProcessLookupError:
            left = False
    kill_group(server.proc)
    server.proc.wait()
    return took, code, left


def one_round(root: Path, source: Path, shape: str) -> dict[str, object]:
    with pg_database() as database:
        if shape == "serve":
            return _round(Server(root / "serve", database, workers="2"), source)
        with redis_server(root / "redis") as redis:
            server = Server(root / "up", database, redis_url=redis.url,
                            storage_url=str(root / "store"), worker_grace_seconds="3")
            server.command = ["up", "--worker-ports", str(free_port())]
            return _round(server, source)


def _round(server: Server, source: Path) -> dict[str, object]:
    try:
        server.start()
        token = server.cli("user", "create", "bench").strip()
        stage = busy(server, token, source)
        load = os.getloadavg()[0]
        took, code, left = stop_seconds(server)
        return {"stage_running": stage, "stop_seconds": round(took, 2), "exit": code,
                "processes_left": left, "load_average_1min": round(load, 1)}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stress", type=int, default=2, help="stress-ng CPU hogs")
    parser.add_argument("--shapes", nargs="+", default=["serve", "up"])
    args = parser.parse_args()
    results: dict[str, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = make_source(Path(tmp) / "stream.mp4")
        with stress(args.stress):
            for shape in args.shapes:
                results[shape] = [one_round(Path(tmp) / f"{shape}-{n}", source, shape)
                                  for n in range(args.rounds)]
    summary = {shape: max(float(str(r["stop_seconds"])) for r in rounds)
               for shape, rounds in results.items()}
    print(json.dumps({"stress_cpus": args.stress, "rounds": results,
                      "worst_stop_seconds": summary}, indent=2))


if __name__ == "__main__":
    main()
