"""The artifact store of distributed mode: a shared folder or S3-compatible storage
(fsspec), with a local cache on every machine.

Stages work on local files (ffmpeg needs paths), so the store is met at the runtime
boundary. A process in distributed mode works inside its local cache (`enter` makes it
the working directory), and every artifact path it writes to the ledger is *relative*,
under `store/` (`store/<stream key>/chunks/0000.wav`). Such a path names the same file on
every machine: `store/K/x` in the ledger is object `K/x` in the store and `store/K/x`
in each machine's cache, fetched on first use. No process ever sees another's local path.

Artifacts are immutable once written (their names carry their job's key), so a cached copy
never goes stale. Uploads are atomic: one PUT on S3; a temp name then a rename in a folder.

Embedded mode never calls `enter`: paths stay absolute under `CLIPFORGE_STORAGE_URL`.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clipforge import errors

log = logging.getLogger("clipforge.store")

ROOT = Path("store")  # every store path in the ledger starts with this
_active: Store | None = None
_lock = threading.Lock()
_fetching: dict[Path, threading.Lock] = {}  # one fetch per file, whichever threads ask


class Store:
    """One fsspec filesystem under a root (`s3://bucket/prefix` or a folder)."""

    def __init__(self, url: str, endpoint_url: str = "") -> None:
        import fsspec

        self.url = url.rstrip("/")
        options: dict[str, Any] = {}
        if self.url.startswith("s3://") and endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint_url}
        if self.url.startswith("s3://"):
            options["skip_instance_cache"] = True  # one client per Store, not per process
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        self.remote = not self.url.startswith(("/", "file://")) and "://" in self.url

    def _remote(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._remote(key)))

    def get(self, key: str, local: Path) -> None:
        """Fetch `key` to `local`, atomically (readers never see half a file)."""
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex[:8]}.fetch")
        try:
            self.fs.get_file(self._remote(key), str(tmp))
            tmp.replace(local)
        finally:
            tmp.unlink(missing_ok=True)

    def put(self, local: Path, key: str) -> None:
        """Upload atomically: S3 makes an object visible only when its PUT completes; in a
        folder, the file is copied under a temp name and renamed."""
        target = self._remote(key)
        if self.remote:
            self.fs.put_file(str(local), target)
            return
        self.fs.makedirs(str(Path(target).parent), exist_ok=True)
        tmp = f"{target}.{uuid.uuid4().hex[:8]}.part"
        self.fs.put_file(str(local), tmp)
        self.fs.mv(tmp, target)

    def remove(self, key: str) -> None:
        if self.exists(key):
            self.fs.rm(self._remote(key))

    def keys(self, prefix: str = "") -> list[str]:
        """Every object under `prefix` (relative keys): for tests and tools."""
        base = self._remote(prefix).rstrip("/")
        if not self.fs.exists(base):
            return []
        root = self.root.rstrip("/") + "/"
        return sorted(str(p).removeprefix(root) for p in self.fs.find(base))


def enter(url: str, cache_dir: Path, endpoint_url: str = "") -> Store:
    """Switch this process to distributed storage: work inside `cache_dir`."""
    global _active
    store = Store(url, endpoint_url)
    try:
        store.fs.ls(store.root) if store.remote else store.fs.makedirs(store.root,
                                                                       exist_ok=True)
    except FileNotFoundError:
        pass  # an empty bucket prefix
    except Exception as exc:
        raise errors.StateError(
            f"storage {url}: cannot reach it ({exc}); check CLIPFORGE_STORAGE_URL, the "
            "credentials (AWS_ACCESS_KEY_ID, ...) and CLIPFORGE_S3_ENDPOINT_URL") from exc
    cache_dir = cache_dir.resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(cache_dir)  # relative store paths resolve in this machine's cache
    _active = store
    return store


def active() -> Store | None:
    return _active


def leave() -> None:
    """Back to embedded mode (tests)."""
    global _active
    _active = None


def work_root(storage_url: str) -> Path:
    """Where streams' artifacts go: the store (relative, see above) in distributed mode,
    the storage folder in embedded mode."""
    return ROOT if _active is not None else Path(storage_url)


def portable(path: Path) -> Path:
    """A path into this machine's cache, made relative (`store/...`): the same on every
    machine. Other paths are returned as they are."""
    if _active is None or not path.is_absolute():
        return path
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def is_store_path(path: str | Path) -> bool:
    parts = Path(path).parts
    found = _active is not None and len(parts) > 1 and parts[0] == ROOT.name
    if found:
        normal(path)
    return found


def normal(path: str | Path) -> Path:
    """A store path as it must be: relative, under `store/`, with no `..` that would
    lead out of the store (or out of the cache on this machine)."""
    found = Path(path)
    if found.is_absolute() or ".." in found.parts or found.parts[:1] != (ROOT.name,):
        raise errors.UnsafePath(f"{found}: not a store path (store/...) or it leads out of "
                                "the store; give a path inside it")
    return found


def key_of(path: str | Path) -> str:
    return normal(path).relative_to(ROOT).as_posix()


def local(path: str | Path) -> Path:
    """The path to read: a store path is fetched into the cache first if missing."""
    found = Path(path)
    if _active is None or not is_store_path(found) or found.exists():
        return found
    with _lock:
        file_lock = _fetching.setdefault(found, threading.Lock())
    with file_lock:
        if not found.exists():
            try:
                _active.get(key_of(found), found)
            except FileNotFoundError as exc:
                raise errors.StateError(
                    f"{found}: missing from the store {_active.url}; reprocess the "
                    "stream") from exc
    return found


def exists(path: str | Path) -> bool:
    """Whether an artifact exists here or in the store."""
    found = Path(path)
    if found.exists():
        return True
    return _active is not None and is_store_path(found) and _active.exists(key_of(found))


def publish(paths: Iterable[Path]) -> int:
    """Upload these local store paths; returns how many."""
    if _active is None:
        return 0
    count = 0
    for path in paths:
        if is_store_path(path) and path.is_file():
            _active.put(path, key_of(path))
            count += 1
    return count


def refresh(path: Path) -> bool:
    """Fetch a store path again even if it is here: for the few files that change (a live
    stream's state), unlike the artifacts. False when the store has none."""
    if _active is None or not is_store_path(path) or not _active.exists(key_of(path)):
        return False
    _active.get(key_of(path), path)
    return True


def remove(paths: Iterable[Path]) -> None:
    """Delete these store paths from the store (a live stream's ring as it moves on)."""
    if _active is None:
        return
    for path in paths:
        if is_store_path(path):
            _active.remove(key_of(path))


def snapshot(folder: Path) -> dict[Path, tuple[int, int]]:
    """Files under a folder with their mtime and size, to find what a step wrote."""
    found: dict[Path, tuple[int, int]] = {}
    for path in _files(folder):
        stat = path.stat()
        found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def written_since(folder: Path, before: dict[Path, tuple[int, int]]) -> list[Path]:
    """Files new or changed since `before`, leaving out temp files of unfinished writes."""
    changed = []
    for path, state in snapshot(folder).items():
        temp = ".part" in path.name or path.name.endswith(".fetch") or \
            path.name.startswith(".")
        if before.get(path) != state and not temp:
            changed.append(path)
    return changed


def _files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for root, _dirs, names in os.walk(folder):
        for name in names:
            yield Path(root) / name


def import_file(path: Path, name: str) -> Path:
    """Bring a file given on this machine (an upload, a path on the server) into the
    store, so workers anywhere can read it; returns its store path."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise errors.UnsafePath(f"{name}: a stored file's name is one path part")
    target = ROOT / "uploads" / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    publish([target])
    return target
