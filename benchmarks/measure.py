"""What a benchmark run cost beyond time: peak memory of the whole process tree, peak
scratch disk, and the floor a full ffmpeg decode of the same file sets."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_processes(root: int) -> dict[str, int]:
    """Bytes resident in ROOT and each process below it (ffmpeg children included), by
    "pid name"."""
    parents: dict[int, int] = {}
    rss: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry.name)] = int(fields[1])
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            rss[int(entry.name)] = (f"{entry.name} {name}", int(fields[21]) * PAGE)
        except (OSError, ValueError, IndexError):
            continue  # gone while we looked
    found: dict[str, int] = {}
    for pid, (name, size) in rss.items():
        node = pid
        while node not in (0, 1) and node != root:
            node = parents.get(node, 0)
        if node == root:
            found[name] = size
    return found


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


class Sampler:
    """Samples tree RSS and FOLDER's size on a thread while the block runs."""

    def __init__(self, folder: Path, every: float = 0.5) -> None:
        self.folder, self.every = folder, every
        self.peak_rss = self.peak_disk = 0
        self.at_peak: dict[str, int] = {}  # each process's share of the peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            processes = tree_processes(os.getpid())
            total = sum(processes.values())
            if total > self.peak_rss:
                self.peak_rss, self.at_peak = total, processes
            self.peak_disk = max(self.peak_disk, folder_bytes(self.folder))
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()


def decode_floor(video: Path, duration: float, measure: float = 600.0) -> dict[str, float]:
    """Seconds one full ffmpeg decode of VIDEO (all its video and audio, default threads)
    takes, measured on its first MEASURE seconds and scaled to DURATION."""
    seconds = min(duration, measure)
    began = time.perf_counter()
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
                    "-t", f"{seconds:.3f}", "-i", str(video), "-f", "null", "-"],
                   check=True, timeout=7200)
    took = time.perf_counter() - began
    return {"measured_on_seconds": round(seconds, 1),
            "seconds": round(took * duration / seconds, 1),
            "realtime_factor": round(seconds / took, 1)}


def ssim(video: Path, reference: Path) -> float:
    """The mean SSIM (all planes) of VIDEO against REFERENCE, frame by frame."""
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-i", str(video),
                           "-i", str(reference), "-lavfi", "ssim", "-f", "null", "-"],
                          capture_output=True, text=True, check=True, timeout=3600)
    return float(proc.stderr.rsplit("All:", 1)[1].split()[0])
