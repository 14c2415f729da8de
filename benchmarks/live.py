"""`clipforge live` over a generated stream published in real time, as JSON: for each
clip, the latency from its reaction's end (when the segment holding it came in) to the
clip rendered and in the review queue (median, worst); the average CPU cores used
(CPU time of the command and everything it ran / wall time), the peak RSS of the whole
process group (sampled each second) and of its largest process; how many planted
highlights got a clip; and the same stream processed as a VOD for as many clips, whose
recall live's is compared with (`vod.recall_gap`). The issue's targets: latency <= 60 s
(median), CPU <= 1.5 cores, recall within 0.1 of the VOD's.

The stream (tools/synth.py: planted highlights, decoys, chat) is cut into 2-s segments
beforehand (cached), and a local server reveals one segment every 2 s (an event
playlist, as a live encoder writes it): the encoder's own CPU is not counted.

    .venv/bin/python -m benchmarks.live [--minutes 30] [--width 1280 --height 720 --fps 30]
                                        [--no-vod]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import CACHE, cli_env, clipforge_cmd
from tests.live_hls_server import LiveSimulator
from tests.procs import kill_group, run_in_group, spawn
from tools import synth

SEGMENT = 2.0


def group_rss(pgid: int) -> tuple[int, int]:
    """(sum, largest) resident set of the processes in the group, bytes."""
    total = largest = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            rss = int(stat.rsplit(")", 1)[1].split()[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def follow(url: str, chat: Path, work: Path) -> tuple[dict[str, Any], dict[str, float]]:
    env = cli_env(work / "data")
    env["CLIPFORGE_ALLOW_PRIVATE_URLS"] = "true"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    proc = spawn(clipforge_cmd("live", url, "--out", str(work / "out"), "--chat", str(chat),
                               "-q"), env=env, stdout=subprocess.DEVNULL,
                 stderr=subprocess.PIPE, text=True)
    peaks = {"group": 0, "largest": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            total, largest = group_rss(proc.pid)
            peaks["group"], peaks["largest"] = max(peaks["group"], total), \
                max(peaks["largest"], largest)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, err = proc.communicate()
    finally:
        done.set()
        kill_group(proc)
        proc.wait()
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, err
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads((work / "out" / "report.json").read_text())
    return report, {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                    "cpu_cores": round(cpu / wall, 3),
                    "peak_rss_group_mb": round(peaks["group"] / 2**20, 1),
                    "peak_rss_largest_mb": round(after.ru_maxrss / 1024, 1)}


def summary(spec: synth.StreamSpec, report: dict[str, Any]) -> dict[str, Any]:
    rendered = [m for m in report["live"]["moments"] if m["status"] == "rendered"]
    latency = sorted(m["rendered_at"] - m["reaction_seen_at"] for m in rendered)
    clips = report["clips"]
    found = [h for h in spec.highlights
             if any(c["start"] - 1.0 <= h <= c["end"] for c in clips)]
    return {
        "clips": len(clips), "moments": len(report["live"]["moments"]),
        "latency_seconds": {"median": round(statistics.median(latency), 1) if latency
                            else None, "worst": round(latency[-1], 1) if latency else None,
                            "each": [round(v, 1) for v in latency]},
        "highlights": len(spec.highlights), "highlights_with_a_clip": len(found),
        "recall": round(len(found) / max(1, len(spec.highlights)), 3),
        "missed": [h for h in spec.highlights if h not in found],
        "clip_spans": [[c["start"], c["end"]] for c in sorted(clips, key=lambda c: c["start"])],
    }


def vod_recall(spec: synth.StreamSpec, clips: int, work: Path) -> dict[str, Any]:
    """The same stream processed as a VOD (`clipforge process --no-render`) for as many
    clips as live made: the recall live is held to (within 0.1 of it)."""
    out = work / "vod"
    done = run_in_group(clipforge_cmd("process", str(spec.video), "--chat", str(spec.chat),
                                      "--out", str(out), "--top", str(max(1, clips)),
                                      "--no-render", "-q"),
                        timeout=7200, env=cli_env(work / "vod-data"))
    assert done.returncode == 0, done.stderr
    picked = json.loads((out / "report.json").read_text())["clips"]
    found = [h for h in spec.highlights
             if any(c["start"] - 1.0 <= h <= c["end"] for c in picked)]
    return {"clips": len(picked), "highlights_with_a_clip": len(found),
            "recall": round(len(found) / max(1, len(spec.highlights)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-vod", action="store_true",
                        help="skip the VOD run that live's recall is compared with")
    args = parser.parse_args()
    spec = synth.cached_long_stream(CACHE / "streams", args.minutes * 60, segment=600.0,
                                    width=args.width, height=args.height, fps=args.fps,
                                    seed=args.seed)
    folder = synth.cached_hls(spec, CACHE / "live", args.fps, preset="veryfast", segment=SEGMENT)
    sim = LiveSimulator(folder, playlist="index.m3u8", interval=SEGMENT).start()
    try:
        with tempfile.TemporaryDirectory(prefix="clipforge-live-bench-") as tmp:
            report, usage = follow(sim.url(), spec.chat, Path(tmp))
            live = summary(spec, report)
            if not args.no_vod:
                vod = vod_recall(spec, live["clips"], Path(tmp))
                live["vod"] = vod | {"recall_gap": round(vod["recall"] - live["recall"], 3)}
    finally:
        sim.stop()
    print(json.dumps({"stream": {"minutes": args.minutes, "size": f"{args.width}x"
                                 f"{args.height}", "fps": args.fps, "segment_seconds": SEGMENT,
                                 "cpus": os.cpu_count(),
                                 "load_average_after": [round(v, 1)
                                                        for v in os.getloadavg()]},
                      **live, **usage}, indent=1))


if __name__ == "__main__":
    main()
