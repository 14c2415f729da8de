"""Real servers for distributed-mode tests and the benchmark: a `redis-server` of our own
(so a test can stop and start it), moto's S3 server, and a cluster of `clipforge serve`
plus `clipforge worker` processes against PostgreSQL, Redis and the S3 store.

Absent locally, Redis and PostgreSQL make a test skip; with CI=true it fails instead."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import clipforge_cmd
from tests.servers import Server, free_port, kill_group, spawn, stop_group

BUCKET = "clipforge-test"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not available")


class RedisServer:
    """redis-server on a free port, without persistence: a restart loses every message,
    as a crash of an unconfigured Redis would."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("redis-server (apt install redis-server)")
        self.binary, self.folder = str(binary), folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        import redis

        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = spawn(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)  # as a crash: nothing saved
            self.proc.wait()


@contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with an empty bucket; yields its endpoint URL."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def s3_keys(endpoint: str, prefix: str = "") -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                 Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


class Worker:
    """`clipforge worker --stage KIND` with its own data dir (so its own cache)."""

    def __init__(self, root: Path, kind: str, env: dict[str, str], n: int = 1,
                 threads: int = 1) -> None:
        self.kind, self.n = kind, n
        self.data_dir = root / f"worker-{kind}-{n}"
        self.env = dict(env, CLIPFORGE_DATA_DIR=str(self.data_dir))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["worker", "--stage", kind, "--port", str(self.port), "--threads",
                     str(threads)]
        self.log = root / f"worker-{kind}-{n}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def stages(self) -> list[str]:
        from clipforge.jobs.registry import stages_of

        return stages_of(self.kind)

    def start(self) -> Worker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = spawn(clipforge_cmd(*self.args), env=self.env, stdout=log,
                              stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 90) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"worker {self.kind} did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        """kill -9, as a crash would."""
        assert self.proc is not None
        kill_group(self.proc)
        self.proc.wait()

    def stop(self, timeout: float = 60) -> int | None:
        return stop_group(self.proc, timeout) if self.proc is not None else None


class Cluster:
    """The API (`serve` in distributed mode) and stage workers, all separate processes."""

    def __init__(self, root: Path, database_url: str, redis_url: str, s3_endpoint: str,
                 **settings: str) -> None:
        self.root = root
        base = {"redis_url": redis_url, "storage_url": f"s3://{BUCKET}/media",
                "s3_endpoint_url": s3_endpoint, "chunk_seconds": "8",
                "job_lease_seconds": "6", "sweep_seconds": "0.5",
                "worker_grace_seconds": "5",
                "whisper_compute_type": "int8", **settings}
        self.api = Server(root / "api", database_url, **base)
        self.api.env.update(AWS_ENV)
        self.env = dict(self.api.env)
        self.workers: list[Worker] = []

    def start(self, per_stage: int = 1, threads: int = 1) -> Cluster:
        from clipforge.execution.broker import kinds

        self.api.start()
        for kind in kinds():
            for n in range(per_stage):
                self.add(kind, n + 1, threads, wait=False)
        for worker in self.workers:
            worker.wait_ready()
        return self

    def add(self, kind: str, n: int, threads: int = 1, wait: bool = True,
            **settings: str) -> Worker:
        env = dict(self.env, **{f"CLIPFORGE_{k.upper()}": v for k, v in settings.items()})
        worker = Worker(self.root, kind, env, n, threads).start()
        self.workers.append(worker)
        return worker.wait_ready() if wait else worker

    def of(self, kind: str) -> list[Worker]:
        return [w for w in self.workers if w.kind == kind and w.proc and w.proc.poll() is None]

    def stop(self) -> None:
        """All workers at once (each finishes or hands back its job), then the API."""
        for worker in self.workers:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in self.workers:
            worker.stop()
        self.api.stop()
